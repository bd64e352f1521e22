"""A TCP proxy on 127.0.0.1 that can be frozen: a stand-in for a database that stops answering
(like a SIGSTOPped node) without touching the shared server behind it.

usage: freeze_proxy.py TARGET_HOST TARGET_PORT [--drop]
Prints "port N" once listening. SIGUSR1 freezes it (connections stay open, nothing more is
forwarded either way, new connections are accepted but not forwarded); SIGUSR2 thaws it.
What arrives while frozen is held and forwarded on the thaw, as a stopped node would read it
when it resumes; with --drop it is thrown away instead (requests lost on the way, so only the
client's retries can reach the server). It stops on SIGTERM."""
import signal
import socket
import sys
import threading

flowing = threading.Event()
flowing.set()


DROP = "--drop" in sys.argv[3:]


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
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(client, target):
    flowing.wait()
    try:
        upstream = socket.create_connection(target, timeout=10)
        upstream.settimeout(None)
    except OSError:
        client.close()
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
