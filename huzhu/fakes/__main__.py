"""`python -m huzhu.fakes wechat|sms [--host H] [--port N] [...]`: run a fake in the foreground."""

from __future__ import annotations

import argparse
import sys

from .server import serve_forever


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m huzhu.fakes")
    parser.add_argument("which", choices=["wechat", "sms"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--appid", default="wxfake0000000001")
    parser.add_argument("--secret", default="fake-secret")
    parser.add_argument("--openid", default="o_fake_default_openid")
    parser.add_argument("--secret-id", default="AKIDfake")
    parser.add_argument("--secret-key", default="fake-sms-key")
    args = parser.parse_args(argv)
    if args.which == "wechat":
        from .wechat import FakeWeChat

        app = FakeWeChat(
            appid=args.appid, secret=args.secret, default_openid=args.openid, echo=True
        )
    else:
        from .sms import FakeTencentSms

        app = FakeTencentSms(secret_id=args.secret_id, secret_key=args.secret_key, echo=True)
    print(f"fake {args.which} on http://{args.host}:{args.port}/", file=sys.stderr, flush=True)
    serve_forever(app, args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
