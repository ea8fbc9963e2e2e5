/// Handlers of `/api/jobs` (spec operations Jobs_List, _Get, _Create, _GetDevices, _Stop, _Resume, _Rerun) and
/// `/api/scheduledJobs` (ScheduledJobs_List, _Get, _Create, _Update, _Remove, _ListJobs).
///
/// A job runs on the mock's clock (assumed, docs/fidelity.md): its devices are those its device group selects when
/// it is created, among those the caller may see; it handles one device per `jobDeviceSeconds` of mock time, in
/// order, so `progress` and each device's status (`pending`, then `completed`, or `failed` for a device deleted
/// meanwhile) move as the clock does (`POST /_mock/clock` advances it). `status` is `running`, `stopped` or
/// `completed`, with `end` once completed. Stop and resume pause and continue it. A rerun is a new job, with the id in
/// the path, over the devices that failed. The job's `data` is stored and answered, not applied to the devices.
/// Jobs and scheduled jobs are scoped by `organizations` as devices are. A scheduled job is stored as given and
/// never starts jobs by itself; `completed` is true once its schedule's end date has passed.
extension CentralService {
    static let jobs = DocumentKind(
        kind: "job", noun: "job", model: "Job", idParameter: "jobId", idCharacters: "-_", idMaxLength: 255, scoped: true,
        hasETag: false)
    static let scheduledJobs = DocumentKind(
        kind: "scheduledJob", noun: "scheduled job", model: "ScheduledJob", idParameter: "scheduledJobId",
        idCharacters: "-_", idMaxLength: 255, scoped: true, hasETag: true)

    /// Mock seconds a job spends on each device (assumed).
    static let jobDeviceSeconds: Int64 = 1

    var jobRules: DocumentRules {
        DocumentRules(
            complete: { [self] document, existing, context in
                guard existing == nil else {
                    throw CentralError.unprocessable(code: "Conflict", "A job with the id '\(context.parameter("jobId").clipped)' exists; jobs cannot be changed. Use another id.")
                }
                let devices = try groupDevices(document["group"]?.stringValue ?? "", context: context)
                return Self.adding([
                    ("_devices", .array(devices.map(JSONValue.string))), ("_runFrom", .number(Double(context.now))),
                    ("_doneBefore", .number(0)), ("start", .string(Timestamp.iso8601(milliseconds: context.now))),
                ], to: document)
            },
            present: { [self] document, context in try jobJSON(document, context: context).job })
    }

    var scheduledJobRules: DocumentRules {
        DocumentRules(
            complete: { [self] document, _, context in
                _ = try groupDevices(document["group"]?.stringValue ?? "", context: context)
                return document["enabled"] == nil ? Self.adding([("enabled", .bool(false))], to: document) : document
            },
            present: { document, context in
                var completed = false
                if let end = document["schedule"]?["end"], end["type"] == .string("date"),
                   let date = end["date"]?.stringValue.flatMap(Timestamp.parseISO8601) {
                    completed = date <= context.now
                }
                return Self.adding([("completed", .bool(completed))], to: document)
            })
    }

    /// Jobs_Create goes through `putDocument`; a job needs a device group that exists and the caller may see.
    private func groupDevices(_ groupID: String, context: RequestContext) throws -> [String] {
        let tree = try organizationTree(context)
        guard let group = try store.resource(appID: context.application.id, kind: Self.deviceGroupKind, id: groupID),
              Self.isVisible(group, scope: context.scope, tree: tree) else {
            throw CentralError.missingReference("The device group '\(groupID.clipped)' does not exist.")
        }
        let isMember = Self.membership(of: group, context: context, tree: tree)
        var ids: [String] = []
        var after: Int64 = 0
        while true {
            let (items, next) = try store.devices(appID: context.application.id, after: after, limit: 1000, where: isMember)
            ids += items.map(\.id)
            guard let next else { break }
            after = next
        }
        return ids
    }

    /// The job as answered (with `status`, `progress`, `end`) and each device's status, at the mock's time.
    private func jobJSON(_ job: JSONValue, context: RequestContext) throws -> (job: JSONValue, devices: [(String, String)]) {
        let devices = (job["_devices"]?.arrayValue ?? []).compactMap(\.stringValue)
        let stopped = job["_stopped"] == .bool(true)
        let doneBefore = Int64(job["_doneBefore"]?.numberValue ?? 0)
        let runFrom = Int64(job["_runFrom"]?.numberValue ?? Double(context.now))
        let handled = stopped ? doneBefore : min(Int64(devices.count), doneBefore + max(0, context.now - runFrom) / (Self.jobDeviceSeconds * 1000))
        var statuses: [(String, String)] = []
        var failed = 0
        for (index, id) in devices.enumerated() {
            guard Int64(index) < handled else { statuses.append((id, "pending")); continue }
            let exists = try store.device(appID: context.application.id, id: id) != nil
            if !exists { failed += 1 }
            statuses.append((id, exists ? "completed" : "failed"))
        }
        let finished = handled >= Int64(devices.count)
        var members: [(String, JSONValue)] = [
            ("status", .string(finished ? "completed" : stopped ? "stopped" : "running")),
            ("progress", .object([
                ("total", .number(Double(devices.count))), ("pending", .number(Double(devices.count) - Double(handled))),
                ("completed", .number(Double(handled) - Double(failed))), ("failed", .number(Double(failed))),
            ])),
        ]
        if finished {
            let end = runFrom + max(0, Int64(devices.count) - doneBefore) * Self.jobDeviceSeconds * 1000
            members.append(("end", .string(Timestamp.iso8601(milliseconds: stopped ? context.now : end))))
        }
        return (Self.adding(members, to: job), statuses)
    }

    /// Jobs_GetDevices: each device of the job with its status, in the job's order, 100 a page.
    func listJobDevices(_ context: RequestContext) throws -> Reply {
        let job = try visibleDocument(Self.jobs, context)
        let page = try pageRequest(context, allowsMaxPageSize: false)
        let statuses = try jobJSON(job, context: context).devices
        let start = Int(min(page.after, Int64(statuses.count)))
        let items = statuses[start...].prefix(page.limit)
        let next = start + items.count < statuses.count ? Int64(start + items.count) : nil
        return listReply(items.map { .object([("id", .string($0.0)), ("status", .string($0.1))]) }, next: next, context: context)
    }

    /// Jobs_Stop (204): the job keeps the devices handled so far and waits. Stopping a stopped or completed job
    /// changes nothing.
    func stopJob(_ context: RequestContext) throws -> Reply {
        let job = try visibleDocument(Self.jobs, context)
        guard job["_stopped"] != .bool(true) else { return Reply(status: 204) }
        let handled = (try jobJSON(job, context: context).job)["progress"].map { (total: $0["total"]?.numberValue ?? 0, pending: $0["pending"]?.numberValue ?? 0) }
        let done = (handled?.total ?? 0) - (handled?.pending ?? 0)
        try store.save(resource: Self.adding([("_stopped", .bool(true)), ("_doneBefore", .number(done))], to: job),
                       appID: context.application.id, kind: Self.jobs.kind, id: context.parameter("jobId"))
        return Reply(status: 204)
    }

    /// Jobs_Resume (204): a stopped job goes on from where it stopped, at the mock's time.
    func resumeJob(_ context: RequestContext) throws -> Reply {
        let job = try visibleDocument(Self.jobs, context)
        guard job["_stopped"] == .bool(true) else { return Reply(status: 204) }
        try store.save(resource: Self.adding([("_stopped", .bool(false)), ("_runFrom", .number(Double(context.now)))], to: job),
                       appID: context.application.id, kind: Self.jobs.kind, id: context.parameter("jobId"))
        return Reply(status: 204)
    }

    /// Jobs_Rerun: a new job with the id `rerunId` and the definition of the job, over the devices that failed in it.
    /// - Throws: 422 when `rerunId` is taken or not a valid job id.
    func rerunJob(_ context: RequestContext) throws -> Reply {
        let job = try visibleDocument(Self.jobs, context)
        let rerunID = context.parameter("rerunId")
        try Self.checkID(rerunID, kind: Self.jobs)
        guard try store.resource(appID: context.application.id, kind: Self.jobs.kind, id: rerunID) == nil else {
            throw CentralError.unprocessable(code: "Conflict", "A job with the id '\(rerunID.clipped)' exists; choose another rerun id.")
        }
        let failed = try jobJSON(job, context: context).devices.filter { $0.1 == "failed" }.map(\.0)
        guard case .object(let members) = job else { throw CentralError.internalError("The stored job is not an object.") }
        var rerun: [(String, JSONValue)] = members.filter { !["_stopped", "status", "progress", "end"].contains($0.0) }
        rerun = rerun.map { name, value in
            switch name {
            case "id": (name, .string(rerunID))
            case "_devices": (name, .array(failed.map(JSONValue.string)))
            case "_runFrom": (name, .number(Double(context.now)))
            case "_doneBefore": (name, .number(0))
            case "start": (name, .string(Timestamp.iso8601(milliseconds: context.now)))
            default: (name, value)
            }
        }
        try store.save(resource: .object(rerun), appID: context.application.id, kind: Self.jobs.kind, id: rerunID)
        return Reply(status: 200, body: try documentJSON(try jobJSON(.object(rerun), context: context).job, kind: Self.jobs, context: context))
    }

    /// ScheduledJobs_ListJobs: the jobs whose `scheduledJobId` is this scheduled job.
    func listScheduledJobJobs(_ context: RequestContext) throws -> Reply {
        let scheduled = try visibleDocument(Self.scheduledJobs, context)
        let id = scheduled["id"] ?? .null
        return try listDocuments(Self.jobs, context, rules: jobRules) { $0["scheduledJobId"] == id }
    }
}
