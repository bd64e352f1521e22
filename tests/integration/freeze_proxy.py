"""A TCP proxy on 127.0.0.1 that can be frozen: a stand-in for a database that stops answering
(like a SIGSTOPped node) without touching the shared server behind it.

usage: freeze_proxy.py TARGET_HOST TARGET_PORT [--drop] [--server-error MARKER]
Prints "port N" once listening. SIGUSR1 freezes it (connections stay open, nothing more is
forwarded either way, new connections are accepted but not forwarded); SIGUSR2 thaws it.
What arrives while frozen is held and forwarded on the thaw, as a stopped node would read it
when it resumes; with --drop it is thrown away instead (requests lost on the way, so only the
client's retries can reach the server). With --server-error MARKER it reads the CQL native
protocol v4 frames (uncompressed) both ways and answers every EXECUTE or BATCH whose body holds
MARKER with an ERROR frame of code 0x0000 (Server error), in place of the server's own answer: a poison
record that Cassandra fails for ever. It stops on SIGTERM."""
import signal
import socket
import sys
import threading

flowing = threading.Event()
flowing.set()


DROP = "--drop" in sys.argv[3:]
MARKER = (sys.argv[sys.argv.index("--server-error") + 1].encode()
          if "--server-error" in sys.argv[3:] else None)
OP_ERROR, OP_EXECUTE, OP_BATCH = 0x00, 0x0A, 0x0D


def shut_both(*socks):
    """Ends both directions of a proxied pair once one side is done."""
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def frames(sock):
    """Yields whole CQL frames (header + body bytes) read from sock until it closes."""
    buf = b""
    while True:
        while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[5:9], "big"):
            n = 9 + int.from_bytes(buf[5:9], "big")
            yield buf[:n]
            buf = buf[n:]
        data = sock.recv(65536)
        if not data:
            return
        buf += data


def server_error(frame):
    """An ERROR frame answering the request frame's stream: code 0x0000 (Server error)."""
    msg = b"injected server error (freeze_proxy --server-error)"
    body = (0).to_bytes(4, "big") + len(msg).to_bytes(2, "big") + msg
    return bytes([0x84, 0, frame[2], frame[3], OP_ERROR]) + len(body).to_bytes(4, "big") + body


def pipe_frames(src, dst, poisoned, to_server):
    """Forwards frames; on the way to the server it notes the stream ids of poisoned requests,
    on the way back it replaces their answers."""
    try:
        for f in frames(src):
            sid = (f[2], f[3])
            if to_server and f[4] in (OP_EXECUTE, OP_BATCH) and MARKER in f[9:]:
                poisoned.add(sid)
            elif not to_server and sid in poisoned:
                poisoned.discard(sid)
                f = server_error(f)
            dst.sendall(f)
    except OSError:
        pass
    shut_both(src, dst)


def pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if DROP and not flowing.is_set():
                continue
            flowing.wait()
            dst.sendall(data)
    except OSError:
        pass
    shut_both(src, dst)


def serve(client, target):
    flowing.wait()
    try:
        upstream = socket.create_connection(target, timeout=10)
        upstream.settimeout(None)
    except OSError:
        client.close()
        return
    if MARKER is not None:
        poisoned = set()
        threading.Thread(target=pipe_frames, args=(client, upstream, poisoned, True),
                         daemon=True).start()
        threading.Thread(target=pipe_frames, args=(upstream, client, poisoned, False),
                         daemon=True).start()
        return
    threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
    threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()


def main():
    target = (sys.argv[1], int(sys.argv[2]))
    signal.signal(signal.SIGUSR1, lambda *_: flowing.clear())
    signal.signal(signal.SIGUSR2, lambda *_: flowing.set())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    print(f"port {ls.getsockname()[1]}", flush=True)
    while True:
        client, _ = ls.accept()
        threading.Thread(target=serve, args=(client, target), daemon=True).start()


main()
