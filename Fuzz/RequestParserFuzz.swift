// libFuzzer target for HTTPRequestParser (built by `make fuzz`, never by `swift build`).
// Properties: parsing never crashes, and the requests or error are the same whether the bytes arrive in one piece
// or split at points the input itself chooses (the server reads at arbitrary boundaries).
import HTTP

/// What a parse produced, comparable across feeding strategies.
private struct Outcome: Equatable {
    var requests: [String] = []
    var error: HTTPRequestError?
}

private func describe(_ r: HTTPRequest) -> String {
    "\(r.method) \(r.target) \(r.version) \(r.pathSegments) \(r.query.map { "\($0.name)=\($0.value)" }) "
        + "\(r.headers.fields.map { "\($0.name):\($0.value)" }) \(r.body)"
}

private func parse(_ bytes: [UInt8], cuts: [Int]) -> Outcome {
    var parser = HTTPRequestParser(maxHeaderBytes: 1024, maxBodyBytes: 2048)
    var outcome = Outcome()
    var start = 0
    for cut in cuts + [bytes.count] where cut >= start {
        parser.append(bytes[start..<cut])
        start = cut
        do {
            while let request = try parser.nextRequest() { outcome.requests.append(describe(request)) }
        } catch {
            outcome.error = error
            return outcome
        }
    }
    return outcome
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let whole = parse(bytes, cuts: [])
    // Cut points derived from the input: every position whose byte is even, capped to keep runs fast.
    var cuts: [Int] = []
    for (i, b) in bytes.enumerated() where b & 1 == 0 && cuts.count < 64 { cuts.append(i) }
    let pieces = parse(bytes, cuts: cuts)
    if whole != pieces {
        fatalError("parser outcome depends on read boundaries: \(whole) vs \(pieces)")
    }
    return 0
}
