/*
 * pulumicost-mcp catalog import: public price lists (AWS Price List offer
 * files, Azure Retail Prices API pages, GCP Cloud Billing Catalog SKUs)
 * converted into PulumiCost spec files for pricing.spec_dir.
 */
#ifndef PCM_CATALOG_IMPORT_H
#define PCM_CATALOG_IMPORT_H

int	 catalog_import_main(int argc, char *argv[]);

#endif
