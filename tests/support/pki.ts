// The project's certificate authority, as the test harnesses import it: one place to change
// if the PKI code moves.
export { type CertificateAuthority, createCertificateAuthority } from "../../lib/pki/mod.ts";
