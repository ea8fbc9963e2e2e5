"""Schemathesis hooks for the full-strictness run (loaded through SCHEMATHESIS_HOOKS).

The run authenticates as one Administrator user of the application (a mock Entra bearer). So that the run cannot
lock itself out, a request that would change or delete that very user is sent to another id instead: every other
user, API token and organization stays within the run's reach, ApiTokens_Remove and Users_Remove included.

Generated values almost never pass the rules a schema cannot express: a role id that names a role, a parent that
exists, an expiry in the future, a user type the discriminator knows. So that creates succeed and the stateful phase
has users, tokens and organizations to read, change and delete, half of the valid (positive) cases get such values
(an application role of the fixture without `organization`; no `parent`; no `expiry`; `type` email; a device without
template or organization; a device group filter iotc-mock understands; a template whose @type has "ModelDefinition" and whose id is a DTMI); the other half keep
what was generated and exercise the 400 and 422 answers.

One failure kind is dropped, and only for one status: a 204 has no body and so no Content-Type, though the spec's
`produces` names application/json for every response (listed in docs/fidelity.md)."""
import os
import zlib

import schemathesis

PROTECTED_USER = os.environ.get("IOTC_MOCK_SCHEMATHESIS_USER", "schemathesis-admin")


APPLICATION_ROLES = ["ca310b8d-2f4a-44e0-a36e-957c202cd8d4", "344138e9-8de4-4497-8c54-5237e96d6aaf",
                     "ae2c9854-393b-4f97-8c42-479d70ce626e"]  # Administrator, Builder, Operator


def half(value):
    """Deterministically true for half of the values."""
    return zlib.crc32(repr(value).encode("utf-8", "surrogatepass")) % 2 == 0


def meaningful(case):
    body = case.body
    if case.meta is None or case.meta.generation.mode.is_negative or not isinstance(body, dict) or not half(body):
        return
    roles = body.get("roles")
    if isinstance(roles, list):
        for entry in roles:
            if isinstance(entry, dict) and isinstance(entry.get("role"), str) and entry["role"] not in APPLICATION_ROLES:
                entry["role"] = APPLICATION_ROLES[zlib.crc32(entry["role"].encode("utf-8", "surrogatepass")) % len(APPLICATION_ROLES)]
                entry.pop("organization", None)
    body.pop("parent", None)
    body.pop("expiry", None)
    # Devices: no template or organization the application lacks; templates: a DTDL document the service accepts.
    # (Only members of the schema's type are changed: dropping a wrongly typed one would make a negative case valid.)
    if isinstance(body.get("template"), str):
        del body["template"]
    if isinstance(body.get("organizations"), list) and all(isinstance(o, str) for o in body["organizations"]):
        del body["organizations"]
    if body.get("simulated") is True:
        body["simulated"] = False
    if isinstance(body.get("sasTtl"), str):
        body["sasTtl"] = "PT1H"
    if isinstance(body.get("filter"), str):
        body["filter"] = "SELECT * FROM devices"
    if "capabilityModel" in body or "@type" in body:
        body["@type"] = ["ModelDefinition", "DeviceModel"]
        body["capabilityModel"] = {"@type": "Interface", "contents": []}
    if "/users/" in case.path and "type" in body and body["type"] not in ("email", "servicePrincipal", "adGroup"):
        body["type"] = "email"
    # Document resources: a discriminator value the spec's subtypes name, and references to what the run created
    # first (the device group schemathesis-group and, in 2022-10-31-preview, the destination schemathesis-destination).
    if case.path.startswith("/enrollmentGroups/") and isinstance(body.get("attestation"), dict):
        body["attestation"] = {"type": "symmetricKey"}
    if case.path.startswith(("/jobs/", "/scheduledJobs/")):
        if isinstance(body.get("group"), str):
            body["group"] = "schemathesis-group"
        if isinstance(body.get("data"), list):
            body["data"] = [{"type": "property", "target": "dtmi:schemathesis:t;1", "path": "p", "value": 1} for _ in body["data"]]
        if isinstance(body.get("schedule"), dict):
            body["schedule"].pop("end", None)
    if case.path.startswith("/dataExport/destinations/") and isinstance(body.get("type"), str):
        body["type"] = "blobstorage@v1"
        body["authorization"] = {"type": "connectionString", "connectionString": "c", "containerName": "x"}
    if case.path.startswith("/dataExport/exports/") and isinstance(body.get("destinations"), list):
        body["destinations"] = [{"id": "schemathesis-destination"}]
    if case.path.startswith("/dashboards/") and isinstance(body.get("tiles"), list):
        body["tiles"] = [{"displayName": "t", "configuration": {"type": "markdown", "description": "d"},
                          "height": 1, "width": 1, "x": 0, "y": 0}]
    if case.path.startswith("/continuousDataExports/") and isinstance(body.get("endpoint"), dict):
        body["endpoint"] = {"type": "StorageEndpoint", "connectionString": "c", "name": "x"}


@schemathesis.hook
def before_call(context, case, kwargs):
    meaningful(case)
    template = (case.path_parameters or {}).get("deviceTemplateId")
    if isinstance(template, str) and half(template):
        case.path_parameters["deviceTemplateId"] = f"dtmi:schemathesis:t{zlib.crc32(template.encode('utf-8', 'surrogatepass'))};1"
    # A link of the stateful phase fills an id from a member the answer left out (a job's scheduledJobId) with an
    # empty string: `/scheduledJobs/` is the collection, as it is for ASP.NET's routing, so such a call would test the
    # list against the item's schema. It names an item that does not exist instead.
    if case.meta is not None and not case.meta.generation.mode.is_negative:
        for name, value in (case.path_parameters or {}).items():
            if value == "":
                case.path_parameters[name] = "schemathesis-no-such-item"
    if case.method.upper() in ("PUT", "PATCH", "DELETE") and (case.path_parameters or {}).get("userId") == PROTECTED_USER:
        case.path_parameters["userId"] = PROTECTED_USER + "-not-me"


@schemathesis.hook
def filter_failure(context, failure, case, response):
    return not (failure.code == "ST104" and response.status_code == 204)
