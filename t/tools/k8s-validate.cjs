// Validate rendered Kubernetes manifests against the API schemas offline
// (kubernetes-models), one document at a time: node k8s-validate.cjs FILE...
// Prints "FILE: Kind/name: ok" or the error; exits 1 when any fails.
const fs = require('fs');
const YAML = require('yaml');
let bad = 0;
for (const f of process.argv.slice(2)) {
  for (const doc of YAML.parseAllDocuments(fs.readFileSync(f, 'utf8'))) {
    if (doc.errors.length) { console.error(`${f}: YAML: ${doc.errors[0].message}`); bad++; continue; }
    const o = doc.toJS();
    if (!o) continue;
    const where = `${f}: ${o.kind}/${o.metadata && o.metadata.name}`;
    let mod;
    try { mod = require(`kubernetes-models/${o.apiVersion}`); }
    catch (e) { console.error(`${where}: unknown apiVersion ${o.apiVersion}`); bad++; continue; }
    const K = mod[o.kind];
    if (!K) { console.error(`${where}: unknown kind`); bad++; continue; }
    try { new K(o).validate(); console.log(`${where}: ok`); }
    catch (e) { console.error(`${where}: ${e.message}`); bad++; }
  }
}
process.exit(bad ? 1 : 0);
