"""`python -m smsgate.fakegw --port N`: the fake SMS gateway without Django."""

import argparse
import logging

from smsgate.fakegw.server import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m smsgate.fakegw", description="Run the fake SMS gateway.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9090, help="port to listen on, 0 for any free one")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    serve(args.host, args.port)


if __name__ == "__main__":
    main()
