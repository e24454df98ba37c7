"""Runs a Milvus Lite gRPC server in the foreground and stops it cleanly on SIGTERM or SIGINT.

The stock `milvus-lite server` command only shuts down cleanly (draining requests, closing the data
dir) on KeyboardInterrupt: SIGTERM kills it mid-write and a backgrounded process ignores SIGINT.
Turning both signals into KeyboardInterrupt gives test runners and `pnpm start` a clean stop.
"""

import argparse
import gc
import os
import signal
import sys
import threading
import time


def _interrupt(signum, frame):
    # Ignore repeats so that a second signal cannot cut the graceful drain and data-dir close short.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def _stop_when_orphaned(parent_pid: int) -> None:
    # A test runner that crashes never calls stop(); without this the server would keep its port and
    # the data-dir lock forever.
    while True:
        time.sleep(1)
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), signal.SIGTERM)
            return


def _refuse_shared_ports() -> None:
    # gRPC turns on SO_REUSEPORT by default, so a second server on a taken port starts "fine" and the
    # kernel splits connections between the two. Turning it off makes a port clash fail at start-up.
    import grpc

    build = grpc.server

    def exclusive_server(*args, **kwargs):
        options = list(kwargs.pop("options", None) or [])
        options.append(("grpc.so_reuseport", 0))
        return build(*args, options=options, **kwargs)

    grpc.server = exclusive_server


def main() -> int:
    parser = argparse.ArgumentParser(description="Milvus Lite server with a clean stop on SIGTERM.")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    threading.Thread(target=_stop_when_orphaned, args=(os.getppid(),), daemon=True).start()

    try:
        # Imported after the handlers are in place so that a signal during the slow import still stops us.
        _refuse_shared_ports()
        from milvus_lite.cmdline import main as milvus_lite_main

        # The imports leave ~107k objects that live as long as the process (grpc, numpy, pyarrow, protobuf
        # and Milvus Lite's own modules), and every full collection of Python's cyclic GC walked them all:
        # ~80-100 ms with the GIL held, every ten-odd seconds under searches, in which no search moves (one
        # in a hundred one-client searches took 2-3 times the median). Frozen, they are left out of every
        # collection; objects made later (the data) are collected as before.
        gc.collect()
        gc.freeze()

        return milvus_lite_main(
            ["server", "--data-dir", args.data_dir, "--host", args.host, "--port", str(args.port)]
        )
    except KeyboardInterrupt:
        # Only reached when the signal arrives before the server loop starts; nothing was opened yet.
        return 0


if __name__ == "__main__":
    sys.exit(main())
