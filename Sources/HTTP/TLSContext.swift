import COpenSSL

/// The server side of TLS: one OpenSSL `SSL_CTX` with a certificate chain and its private key, TLS 1.2 as the
/// minimum version, and ALPN answering `http/1.1` (RFC 7301). Shared by every connection.
public final class TLSContext: @unchecked Sendable {
    // @unchecked: an SSL_CTX is safe to share between threads once configured (OpenSSL's threading rules); it is
    // never changed after init.
    let context: OpaquePointer

    /// Loads a PEM certificate chain and a PEM private key from files.
    /// - Throws: `TLSError` when a file cannot be read or parsed, or the key does not match the certificate.
    public convenience init(certificatePath: String, privateKeyPath: String) throws {
        try self.init { context in
            guard SSL_CTX_use_certificate_chain_file(context, certificatePath) == 1 else {
                throw TLSError.openSSL("cannot load the TLS certificate \(certificatePath)")
            }
            // An encrypted key would make OpenSSL ask for a pass phrase on the terminal: refuse instead.
            SSL_CTX_set_default_passwd_cb(context) { _, _, _, _ in 0 }
            guard SSL_CTX_use_PrivateKey_file(context, privateKeyPath, SSL_FILETYPE_PEM) == 1 else {
                throw TLSError.openSSL("cannot load the TLS private key \(privateKeyPath) (encrypted keys are not supported)")
            }
            guard SSL_CTX_check_private_key(context) == 1 else {
                throw TLSError.openSSL("the TLS private key \(privateKeyPath) does not match the certificate \(certificatePath)")
            }
        }
    }

    /// Uses a certificate issued in memory: `certificate.chainPEM` (the server certificate first) and its key.
    /// - Throws: `TLSError` when the PEM does not parse or the key does not match.
    public convenience init(_ certificate: CertificateAuthority.ServerCertificate) throws {
        try self.init { context in
            let chain = CertificateAuthority.certificates(pem: certificate.chainPEM)
            defer { chain.forEach { X509_free($0) } }
            guard let leaf = chain.first, SSL_CTX_use_certificate(context, leaf) == 1 else {
                throw TLSError.openSSL("cannot use the issued TLS certificate")
            }
            for issuer in chain.dropFirst() {
                // The context takes the reference it is given: hand it one of its own.
                guard X509_up_ref(issuer) == 1, SSL_CTX_ctrl(context, SSL_CTRL_EXTRA_CHAIN_CERT, 0, UnsafeMutableRawPointer(issuer)) == 1 else {
                    throw TLSError.openSSL("cannot add the issuing authority to the TLS chain")
                }
            }
            guard let key = CertificateAuthority.privateKey(pem: certificate.privateKeyPEM) else { throw TLSError.openSSL("cannot read the issued TLS key") }
            defer { EVP_PKEY_free(key) }
            guard SSL_CTX_use_PrivateKey(context, key) == 1, SSL_CTX_check_private_key(context) == 1 else {
                throw TLSError.openSSL("the issued TLS key does not match its certificate")
            }
        }
    }

    /// A context with TLS 1.2 at least and ALPN, after `load` has given it a certificate and key.
    private init(load: (OpaquePointer) throws -> Void) throws {
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw TLSError.openSSL("cannot create a TLS context") }
        self.context = context
        _ = SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        try load(context)
        SSL_CTX_set_alpn_select_cb(context, { _, out, outLength, input, inputLength, _ in
            // Choose http/1.1 from the client's length-prefixed list (RFC 7301 §3.1). A client that does not list it
            // gets no ALPN answer rather than a fatal alert, and so still speaks HTTP/1.1 with us.
            guard let input else { return SSL_TLSEXT_ERR_NOACK }
            let wanted = Array("http/1.1".utf8)
            var i = 0
            while i < Int(inputLength) {
                let length = Int(input[i])
                let start = i + 1
                guard start + length <= Int(inputLength) else { break }
                if length == wanted.count && (0..<length).allSatisfy({ input[start + $0] == wanted[$0] }) {
                    out?.pointee = input + start
                    outLength?.pointee = UInt8(length)
                    return SSL_TLSEXT_ERR_OK
                }
                i = start + length
            }
            return SSL_TLSEXT_ERR_NOACK
        }, nil)
    }

    deinit { SSL_CTX_free(context) }
}
