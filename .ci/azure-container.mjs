// Creates a container on Azurite: node azure-container.mjs ENDPOINT NAME
// (ENDPOINT: http://127.0.0.1:PORT/devstoreaccount1). Run from the folder
// where @azure/storage-blob is installed.
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";

const [endpoint, name] = process.argv.slice(2);
// Azurite's well-known development account.
const credential = new StorageSharedKeyCredential(
  "devstoreaccount1",
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
);
await new BlobServiceClient(endpoint, credential).getContainerClient(name).createIfNotExists();
