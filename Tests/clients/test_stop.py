"""A stop answers every request that reaches the server: requests in progress finish, requests that begin after
SIGTERM (on new or idle keep-alive connections) are answered 503 with Retry-After and Connection: close, and a
request still arriving when the grace period ends is answered 503 too. Counted over raw sockets, with clients
sending throughout the SIGTERM: no connection may break (reset or closed without a complete answer). A connect that
fails (the listener closed) sent no request; the clients honour Retry-After, as Azure SDKs do, so none keeps
reconnecting into the instant the listener closes, where the kernel resets what it still queues."""
import signal
import socket
import ssl
import subprocess
import threading
import time

from conftest import start_mock

REQUEST = "GET /api/roles?api-version=2022-07-31 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {token}\r\n\r\n"


def read_response(sock, leftover=None):
    """(status, headers) of one complete response, or None when the connection broke first. Bytes read past it (the
    next pipelined response) stay in `leftover` (a bytearray) when one is given."""
    data = bytes(leftover or b"")
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        body += chunk
    if leftover is not None:
        leftover[:] = body[length:]
    return status, headers


def trickle_until_answered(sock, started, seconds=6):
    """Sends one more body byte every 0.3 s until an answer arrives (or `seconds` after `started`); closes `sock`."""
    answer = None
    try:
        while answer is None and time.monotonic() - started < seconds:
            sock.sendall(b" ")
            sock.settimeout(0.3)
            try:
                answer = read_response(sock)
            except (socket.timeout, ssl.SSLError):
                pass
    finally:
        sock.close()
    return answer


def hammer(port, token, counts, lock, deadline):
    while time.monotonic() < deadline:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError:
            # Refused (the listener is closed), or reset while queued on it as it closed: no request was sent, so
            # none reached the server. Every server has this race at its very end.
            return
        try:
            while time.monotonic() < deadline:
                why = "closed before an answer"
                stage = "send"
                try:
                    sock.sendall(REQUEST.format(token=token).encode())
                    stage = f"read (request {counts.get('n', 0)} on this connection)"
                    answer = read_response(sock)
                except OSError as error:
                    answer, why = None, f"{stage}: {error!r}"
                with lock:
                    if answer is None:
                        counts["broken"] += 1
                        counts.setdefault("why", []).append(f"{why} at {time.monotonic() - counts.get('sigterm', 0):.3f} s after SIGTERM")
                    elif answer[0] == 503:
                        counts["503"] += 1
                        assert answer[1].get("connection") == "close" and answer[1].get("retry-after") == "1", answer
                    else:
                        counts[str(answer[0])] = counts.get(str(answer[0]), 0) + 1
                if answer is None or answer[1].get("connection") == "close":
                    break
                time.sleep(0.002)
        finally:
            sock.close()
        # A client that honours Retry-After (as Azure SDKs do) waits before it asks again.
        time.sleep(int(answer[1].get("retry-after", "0")) if answer else 0.005)


def test_requests_sent_throughout_a_sigterm_all_get_answers():
    mock = start_mock("--in-memory", "--quiet", "--stop-grace", "2")
    port = int(mock.url.rsplit(":", 1)[1])
    counts = {"broken": 0, "503": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + 20
    threads = [threading.Thread(target=hammer, args=(port, mock.token, counts, lock, deadline)) for _ in range(4)]
    # A request whose body trickles in, begun before the stop and still incomplete when the grace period ends.
    slow = socket.create_connection(("127.0.0.1", port), timeout=10)
    slow.sendall(b"PUT /api/apiTokens/slow?api-version=2022-07-31 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 + f"Authorization: {mock.token}\r\nContent-Length: 1000\r\n\r\n".encode() + b"{")
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    started = time.monotonic()
    counts["sigterm"] = started
    mock.process.send_signal(signal.SIGTERM)
    slow_answer = trickle_until_answered(slow, started)
    for thread in threads:
        thread.join(timeout=25)
    assert mock.process.wait(timeout=15) == 0
    counts.pop("sigterm")
    assert counts["broken"] == 0, counts
    assert counts["503"] > 0 and counts.get("200", 0) > 0, counts
    assert slow_answer is not None and slow_answer[0] == 503, slow_answer
    print(f"\nrequests around a SIGTERM: {counts}; the slow upload got {slow_answer[0]} after {time.monotonic() - started:.1f} s")


def test_an_https_request_still_arriving_when_the_grace_period_ends_gets_503():
    """The end of the grace period wakes the reads without touching the socket, so a TLS session stays intact and
    its answer can still be written."""
    mock = start_mock("--in-memory", "--quiet", "--stop-grace", "1")
    port = int(mock.url.rsplit(":", 1)[1])
    context = ssl.create_default_context(cafile=mock.certificate)
    slow = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")
    slow.sendall(b"PUT /api/apiTokens/slow?api-version=2022-07-31 HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                 + f"Authorization: {mock.token}\r\nContent-Length: 1000\r\n\r\n".encode() + b"{")
    time.sleep(0.2)
    mock.process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    answer = trickle_until_answered(slow, started)
    assert mock.process.wait(timeout=10) == 0
    assert answer is not None and answer[0] == 503 and answer[1].get("connection") == "close", answer


def test_requests_pipelined_after_a_sigterm_are_each_answered_503():
    mock = start_mock("--in-memory", "--quiet", "--stop-grace", "3")
    port = int(mock.url.rsplit(":", 1)[1])
    connection = socket.create_connection(("127.0.0.1", port), timeout=10)
    connection.sendall(REQUEST.format(token=mock.token).encode())
    assert read_response(connection)[0] == 200
    mock.process.send_signal(signal.SIGTERM)
    time.sleep(0.1)
    connection.sendall(REQUEST.format(token=mock.token).encode() * 3)
    leftover = bytearray()
    answers = [read_response(connection, leftover) for _ in range(3)]
    connection.close()
    assert mock.process.wait(timeout=10) == 0
    assert [answer[0] for answer in answers] == [503, 503, 503], answers
    assert [answer[1].get("connection") for answer in answers] == [None, None, "close"], answers
    assert all(answer[1].get("retry-after") == "1" for answer in answers), answers


def test_a_stop_grace_of_zero_still_answers_what_arrives():
    mock = start_mock("--in-memory", "--quiet", "--stop-grace", "0")
    port = int(mock.url.rsplit(":", 1)[1])
    slow = socket.create_connection(("127.0.0.1", port), timeout=10)
    slow.sendall(b"PUT /api/apiTokens/slow?api-version=2022-07-31 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 + f"Authorization: {mock.token}\r\nContent-Length: 1000\r\n\r\n".encode() + b"{")
    time.sleep(0.2)
    mock.process.send_signal(signal.SIGTERM)
    slow.settimeout(5)
    answer = read_response(slow)
    slow.close()
    assert mock.process.wait(timeout=10) == 0
    assert answer is not None and answer[0] == 503, answer
