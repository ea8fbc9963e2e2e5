/// Handlers of `/api/jobs` (spec operations Jobs_List, _Get, _Create, _GetDevices, _Stop, _Resume, _Rerun) and
/// `/api/scheduledJobs` (ScheduledJobs_List, _Get, _Create, _Update, _Remove, _ListJobs).
///
/// A job runs on the mock's clock (assumed, docs/fidelity.md): its devices are those its device group selects when
/// it is created, among those the caller may see and, when the job belongs to an organization, those of that
/// organization's subtree (a job without one takes its group's). It handles one device per `jobDeviceSeconds` of
/// mock time, in order, so `progress` and each device's status (`pending`, then `completed`, or `failed` for a device
/// that no longer exists at its turn, or not connected for a command job) move as the clock does (`POST /_mock/clock`
/// advances it). Turns are carried out at their own time, before any request that comes after them
/// (`catchUpJobs`); an outcome stays once decided (a device created again, or the clock stepped back, changes nothing
/// already handled). A device's turn carries out `property` and `command` entries (`apply`).
/// `status` is `running`, `stopped` or `completed`, with `end` once completed. Stop and resume pause and continue a
/// running job and change nothing on a completed one. A rerun is a new job, with the id in the path, over the devices
/// that failed. A job id is used once (409).
/// Jobs and scheduled jobs are scoped by `organizations` as devices are. A scheduled job is stored as given and
/// never starts jobs by itself; `completed` is true once its schedule's end date has passed.
extension CentralService {
    static let jobs = DocumentKind(
        kind: "job", noun: "job", model: "Job", idParameter: "jobId", idCharacters: "-_", idMaxLength: 255, scoped: true,
        hasETag: false, createsOnce: true)
    static let scheduledJobs = DocumentKind(
        kind: "scheduledJob", noun: "scheduled job", model: "ScheduledJob", idParameter: "scheduledJobId",
        idCharacters: "-_", idMaxLength: 255, scoped: true, hasETag: true)

    /// Mock seconds a job spends on each device (assumed).
    static let jobDeviceSeconds: Int64 = 1

    var jobRules: DocumentRules {
        DocumentRules(
            complete: { [self] document, _, context in
                let (devices, organizations) = try groupDevices(for: document, context: context)
                var members: [(String, JSONValue)] = [
                    ("_devices", .array(devices.map(JSONValue.string))), ("_runFrom", .number(Double(context.now))),
                    ("_doneBefore", .number(0)), ("start", .string(Timestamp.iso8601(milliseconds: context.now))),
                ]
                if document["organizations"] == nil, !organizations.isEmpty { members.append(("organizations", .array(organizations.map(JSONValue.string)))) }
                return Self.adding(members, to: document)
            },
            saved: { [self] _, context in jobsChanged(appID: context.application.id) },
            present: { [self] document, context in try jobProgress(document, context: context).job })
    }

    var scheduledJobRules: DocumentRules {
        DocumentRules(
            complete: { [self] document, existing, context in
                // The group is checked when it is set; a scheduled job whose group was deleted since can still be
                // changed (and its group replaced).
                var document = document
                if existing?["group"] != document["group"] {
                    let organizations = (try visibleGroup(of: document, context: context)["organizations"]?.arrayValue ?? []).compactMap(\.stringValue)
                    if document["organizations"] == nil, !organizations.isEmpty {
                        document = Self.adding([("organizations", .array(organizations.map(JSONValue.string)))], to: document)
                    }
                }
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

    /// The device group a job (or scheduled job) `document` names.
    /// - Throws: 400 when the group does not exist or the caller may not see it.
    private func visibleGroup(of document: JSONValue, context: RequestContext) throws -> JSONValue {
        let groupID = document["group"]?.stringValue ?? ""
        guard let group = try store.resource(appID: context.application.id, kind: Self.deviceGroups.kind, id: groupID),
              Self.isVisible(group, kind: Self.deviceGroups, scope: context.scope, tree: try organizationTree(context)) else {
            throw CentralError.missingReference("The device group '\(groupID.clipped)' does not exist.")
        }
        return group
    }

    /// The devices a job `document` reaches, and its group's organizations.
    /// - Throws: 400 when the group does not exist or the caller may not see it.
    private func groupDevices(for document: JSONValue, context: RequestContext) throws -> (devices: [String], groupOrganizations: [String]) {
        let group = try visibleGroup(of: document, context: context)
        let tree = try organizationTree(context)
        let groupOrganizations = (group["organizations"]?.arrayValue ?? []).compactMap(\.stringValue)
        let own = (document["organizations"]?.arrayValue ?? []).compactMap(\.stringValue)
        let within = own.isEmpty ? nil : tree.subtrees(of: Set(own))
        let isMember = Self.membership(of: group, context: context, tree: tree)
        var ids: [String] = []
        var after: Int64 = 0
        while true {
            let (items, next) = try store.devices(appID: context.application.id, after: after, limit: 1000) { device in
                isMember(device) && (within.map { scope in device.organizations.contains { scope.contains($0) } } ?? true)
            }
            ids += items.map(\.id)
            guard let next else { break }
            after = next
        }
        return (ids, groupOrganizations)
    }

    /// The job as answered (with `status`, `progress`, `end`) and each device's status, from the outcomes
    /// `catchUpJobs` stored.
    private func jobProgress(_ job: JSONValue, context: RequestContext) throws -> (job: JSONValue, devices: [(String, String)]) {
        let devices = (job["_devices"]?.arrayValue ?? []).compactMap(\.stringValue)
        let outcomes = (job["_outcomes"]?.arrayValue ?? []).compactMap(\.stringValue)
        let handled = min(devices.count, outcomes.count)
        let finished = handled >= devices.count
        let failed = outcomes.filter { $0 == "failed" }.count
        var members: [(String, JSONValue)] = [
            ("status", .string(finished ? "completed" : job["_stopped"] == .bool(true) ? "stopped" : "running")),
            ("progress", .object([
                ("total", .number(Double(devices.count))), ("pending", .number(Double(devices.count - handled))),
                ("completed", .number(Double(handled - failed))), ("failed", .number(Double(failed))),
            ])),
        ]
        if finished { members.append(("end", job["_end"] ?? job["start"] ?? .null)) }
        let statuses = devices.enumerated().map { index, id in (id, index < outcomes.count ? outcomes[index] : "pending") }
        return (Self.adding(members, to: job), statuses)
    }

    /// Carries out every turn of the application's running jobs that is due at `now`, in time order within each job,
    /// each at its own time (a job's device `i` is due `jobDeviceSeconds` after device `i - 1`), and stores the
    /// outcomes (`_outcomes`, `_end`). Called before every request to the application and every control-plane
    /// change of a device, so what a request sees and changes comes after the turns due before it. Cheap when none is
    /// due: the time of the next turn is kept per application.
    public func catchUpJobs(appID: String, now: Int64) throws {
        let (known, changes) = nextJobTurn.withLock { ($0.next[appID], $0.changes) }
        if let known, known > now { return }
        try jobTurns.withLock { _ in
            var next = Int64.max
            for (_, job) in try store.resources(appID: appID, kind: Self.jobs.kind) {
                let devices = (job["_devices"]?.arrayValue ?? []).compactMap(\.stringValue)
                var outcomes = (job["_outcomes"]?.arrayValue ?? []).compactMap(\.stringValue)
                guard outcomes.count < devices.count, job["_stopped"] != .bool(true), let id = job["id"]?.stringValue else { continue }
                let doneBefore = Int64(job["_doneBefore"]?.numberValue ?? 0)
                let runFrom = Int64(job["_runFrom"]?.numberValue ?? Double(now))
                let step = Self.jobDeviceSeconds * 1000
                func due(_ index: Int) -> Int64 { runFrom + (Int64(index) - doneBefore + 1) * step }
                let seen = outcomes.count
                while outcomes.count < devices.count, due(outcomes.count) <= now {
                    outcomes.append(try apply(job, toDevice: devices[outcomes.count], appID: appID, at: due(outcomes.count)))
                }
                if outcomes.count < devices.count { next = min(next, due(outcomes.count)) }
                guard outcomes.count > seen else { continue }
                var decided: [(String, JSONValue)] = [("_outcomes", .array(outcomes.map(JSONValue.string)))]
                if outcomes.count == devices.count { decided.append(("_end", .string(Timestamp.iso8601(milliseconds: due(devices.count - 1))))) }
                try store.setMembers(decided, ofResource: id, kind: Self.jobs.kind, appID: appID)
            }
            nextJobTurn.withLock { if $0.changes == changes { $0.next[appID] = next } }
        }
    }

    /// Forgets the time of the next job turn of an application (a job created, stopped or resumed; the application
    /// reset), so the next request looks again.
    func jobsChanged(appID: String) {
        nextJobTurn.withLock {
            $0.next[appID] = nil
            $0.changes += 1
        }
    }

    /// Carries out the job's `data` on one device at its turn (`time`), and gives its outcome: `failed` for a device
    /// that no longer exists, or a command job on a device the control plane has not connected; else `completed`. A
    /// `property` entry sets the desired value at `path` (`name`, or `component.name` for a component of the device's
    /// template), as `PATCH .../properties` does; a `command` entry runs the command at `path` with `value` as its
    /// request, recorded in its history with the response the control plane set. Other types (`cloudProperty`,
    /// template and manifest migrations) are kept, not carried out.
    private func apply(_ job: JSONValue, toDevice id: String, appID: String, at time: Int64) throws -> String {
        guard let device = try store.device(appID: appID, id: id) else { return "failed" }
        let components = Set(try components(of: device, appID: appID).map(\.name))
        var desired: [(component: String, values: [(String, JSONValue)])] = []
        var runs: [(component: String, name: String, request: JSONValue?)] = []
        for entry in job["data"]?.arrayValue ?? [] {
            guard let path = entry["path"]?.stringValue else { continue }
            let parts = path.split(separator: ".", maxSplits: 1).map(String.init)
            let (component, name) = parts.count == 2 && components.contains(parts[0]) ? (parts[0], parts[1]) : ("", path)
            switch entry["type"]?.stringValue {
            case "property":
                let value = entry["value"] ?? .null
                if let index = desired.firstIndex(where: { $0.component == component }) { desired[index].values.append((name, value)) } else { desired.append((component, [(name, value)])) }
            case "command":
                runs.append((component, name, entry["value"]))
            default:
                continue
            }
        }
        if !runs.isEmpty, try !store.isConnected(appID: appID, deviceID: id) { return "failed" }
        if !desired.isEmpty { try setDesired(desired, appID: appID, deviceID: id, replacing: false, now: time) }
        for run in runs {
            var document: [(String, JSONValue)] = [("id", .string(Crypto.uuid()))]
            if let request = run.request { document.append(("request", request)) }
            _ = try recordRun(document, command: run.name, component: run.component, deviceID: id, appID: appID)
        }
        return "completed"
    }

    /// Jobs_GetDevices: each device of the job with its status, in the job's order, 100 a page.
    func listJobDevices(_ context: RequestContext) throws -> Reply {
        let job = try visibleDocument(Self.jobs, context)
        let page = try pageRequest(context, allowsMaxPageSize: false)
        let statuses = try jobProgress(job, context: context).devices
        let start = Int(min(page.after, Int64(statuses.count)))
        let items = statuses[start...].prefix(page.limit)
        let next = start + items.count < statuses.count ? Int64(start + items.count) : nil
        return listReply(items.map { .object([("id", .string($0.0)), ("status", .string($0.1))]) }, next: next, context: context)
    }

    /// Jobs_Stop (204): a running job keeps the devices handled so far and waits. Stopping a stopped or completed
    /// job changes nothing.
    func stopJob(_ context: RequestContext) throws -> Reply {
        let job = try visibleDocument(Self.jobs, context)
        let progress = try jobProgress(job, context: context)
        guard progress.job["status"] == .string("running") else { return Reply(status: 204) }
        let handled = progress.devices.filter { $0.1 != "pending" }.count
        try store.setMembers([("_stopped", .bool(true)), ("_doneBefore", .number(Double(handled)))],
                             ofResource: context.parameter("jobId"), kind: Self.jobs.kind, appID: context.application.id)
        jobsChanged(appID: context.application.id)
        return Reply(status: 204)
    }

    /// Jobs_Resume (204): a stopped job goes on from where it stopped, at the mock's time; a running or completed job
    /// is left as it is.
    func resumeJob(_ context: RequestContext) throws -> Reply {
        let job = try visibleDocument(Self.jobs, context)
        guard try jobProgress(job, context: context).job["status"] == .string("stopped") else { return Reply(status: 204) }
        try store.setMembers([("_stopped", .bool(false)), ("_runFrom", .number(Double(context.now)))],
                             ofResource: context.parameter("jobId"), kind: Self.jobs.kind, appID: context.application.id)
        jobsChanged(appID: context.application.id)
        return Reply(status: 204)
    }

    /// Jobs_Rerun: a new job with the id `rerunId` and the definition of the job, over the devices that failed in it.
    /// - Throws: 422 for a `rerunId` that is not a valid job id, 409 when it is taken.
    func rerunJob(_ context: RequestContext) throws -> Reply {
        let job = try visibleDocument(Self.jobs, context)
        let rerunID = context.parameter("rerunId")
        try Self.checkID(rerunID, kind: Self.jobs)
        let failed = try jobProgress(job, context: context).devices.filter { $0.1 == "failed" }.map(\.0)
        guard case .object(let members) = job else { throw CentralError.internalError("The stored job is not an object.") }
        var rerun: [(String, JSONValue)] = members.filter { !["_stopped", "_outcomes", "_end", "status", "progress", "end"].contains($0.0) }
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
        guard try store.insert(resource: .object(rerun), appID: context.application.id, kind: Self.jobs.kind, id: rerunID) else {
            throw CentralError.conflict("A job with the id '\(rerunID.clipped)' exists; choose another rerun id.")
        }
        jobsChanged(appID: context.application.id)
        return Reply(status: 200, body: try documentJSON(try jobProgress(.object(rerun), context: context).job, kind: Self.jobs, context: context))
    }

    /// ScheduledJobs_ListJobs: the jobs whose `scheduledJobId` is this scheduled job.
    func listScheduledJobJobs(_ context: RequestContext) throws -> Reply {
        let scheduled = try visibleDocument(Self.scheduledJobs, context)
        let id = scheduled["id"] ?? .null
        return try listDocuments(Self.jobs, context, rules: jobRules) { $0["scheduledJobId"] == id }
    }
}
