"""The browser playground: the lecture's networks trained on chainrule's engine, live.

    chainrule playground [--port N] [--host H] [--no-browser]

starts a local web server (127.0.0.1 unless told otherwise) and opens its page: 2-D datasets,
a network edited with + and −, a heat map for every unit, the decision regions moving as the
server trains, the six units of the lecture, multiclass softmax with cross-entropy, SGD /
momentum / Adam, CSV upload, the backprop trace of one example step by step, the slides'
presets, and export of the checkpoint and of a script that reproduces the run. See
docs/playground.md.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

from chainrule.playground.config import ConfigError, validate
from chainrule.playground.server import PlaygroundServer, make_server
from chainrule.playground.session import Session


def add_playground_parser(sub: Any) -> None:
    """The `chainrule playground` subcommand (`sub`: the CLI's subparsers)."""
    p = sub.add_parser("playground", help="train small networks live in the browser",
                       description="Start the playground's local web server and open its page: "
                       "train the lecture's networks on 2-D data on chainrule's engine and look "
                       "inside them. Ctrl-C stops it.")
    p.add_argument("--port", type=int, default=8765,
                   help="port to listen on (default 8765; 0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--verbose", action="store_true", help="log every request")


def playground_command(args: Any) -> int:
    """Run `chainrule playground` until Ctrl-C."""
    if not 0 <= args.port <= 65535:
        print(f"chainrule playground: error: --port {args.port}: expected 0..65535",
              file=sys.stderr)
        return 2
    try:
        server = make_server(args.host, args.port, verbose=args.verbose)
    except OSError as e:
        print(f"chainrule playground: error: cannot listen on {args.host}:{args.port}: "
              f"{e.strerror or e}", file=sys.stderr)
        return 1
    print(f"chainrule playground: serving {server.url} (Ctrl-C stops)", flush=True)
    if not args.no_browser:
        import webbrowser

        threading.Timer(0.3, webbrowser.open, (server.url,)).start()
    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt  # `kill` stops it as cleanly as Ctrl-C

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        print("\nchainrule playground: stopped", flush=True)
    finally:
        server.stop()
        server.server_close()
    return 0


__all__ = ["ConfigError", "PlaygroundServer", "Session", "add_playground_parser",
           "make_server", "playground_command", "validate"]
