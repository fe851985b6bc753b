"""A scripted hospital cashier: signs and sends one-stop requests (stdlib only).

    python -m huzhu.hospitals.client --url http://127.0.0.1:8000 --key hz_... --secret ... \\
        --hospital H001 demo --id-number 330683... [--base 3000.00]

`demo` runs the cashier's whole story against a running server: presettle, settle, the
same settle again (a retry after a timeout: same answer, nothing new), a new request id for
the same settlement (answered as a duplicate), a reused request id with another body (409),
then cancel and cancel again. Each step prints the HTTP status and the answer's code; the
last line is a JSON summary. `presettle`, `settle` and `cancel` send a single request.

`HospitalClient` is usable from code (the load benchmark uses `sign` the same way).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import date
from decimal import Decimal

__all__ = ["HospitalClient", "signed_headers"]


def signed_headers(
    key_id: str,
    secret: str,
    method: str,
    path: str,
    body: bytes,
    timestamp: int | None = None,
) -> dict:
    """X-Huzhu-Key / -Timestamp / -Signature for a request (as huzhu.api.keys.sign): the
    signing string is timestamp, METHOD, path as sent (with `?query` when there is one) and
    the raw body, joined by newlines."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    message = f"{ts}\n{method.upper()}\n{path}\n".encode() + body
    sig = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Huzhu-Key": key_id,
        "X-Huzhu-Timestamp": ts,
        "X-Huzhu-Signature": sig,
    }


class HospitalClient:
    def __init__(self, url: str, key_id: str, secret: str, hospital: str, timeout=10.0):
        self.url = url.rstrip("/")
        self.key_id = key_id
        self.secret = secret
        self.hospital = hospital
        self.timeout = timeout

    def post(self, action: str, body: dict, *, retries: int = 3) -> tuple[int, dict]:
        """POST a signed body; a dropped connection or a 503 is retried with the same body
        (so the same request_id) after a short pause."""
        raw = json.dumps({"hospital_code": self.hospital, **body}, ensure_ascii=False).encode()
        base_path = urllib.parse.urlsplit(self.url).path.rstrip("/")
        path = f"{base_path}/api/onestop/{action}"
        for attempt in range(retries + 1):
            req = urllib.request.Request(
                f"{self.url}/api/onestop/{action}",
                data=raw,
                # Signed again on each attempt: a fresh timestamp, the same body.
                headers=signed_headers(self.key_id, self.secret, "POST", path, raw),
                method="POST",
            )
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return resp.status, json.loads(resp.read() or b"{}")
            except urllib.error.HTTPError as exc:
                status, payload = exc.code, json.loads(exc.read() or b"{}")
                if status != 503 or attempt == retries:
                    return status, payload
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if attempt == retries:
                    raise
            time.sleep(0.5 * (attempt + 1))
        raise AssertionError("unreachable")

    def presettle(self, stay: dict) -> tuple[int, dict]:
        return self.post("presettle", stay)

    def settle(self, stay: dict, request_id: str) -> tuple[int, dict]:
        return self.post("settle", {**stay, "request_id": request_id})

    def cancel(self, settlement_id: str, request_id: str, reason: str = "") -> tuple[int, dict]:
        return self.post(
            "cancel", {"settlement_id": settlement_id, "request_id": request_id, "reason": reason}
        )


def _yuan_sum(*amounts: str) -> str:
    fen = sum(round(Decimal(a or "0") * 100) for a in amounts)
    return f"{fen // 100}.{fen % 100:02d}"


def _stay(args) -> dict:
    today = date.today()
    return {
        "settlement_id": args.settlement_id or f"YS{today:%Y%m%d}{uuid.uuid4().hex[:8].upper()}",
        "id_number": args.id_number,
        "name": args.name,
        "hospital": args.hospital_name,
        "admit_date": args.admit or today.replace(day=1).isoformat(),
        "discharge_date": args.discharge or today.isoformat(),
        # By default the total is what the parts add up to (a stay whose amounts disagree
        # is answered needs_review, as the bureau file import sends it to a reviewer).
        "total_cost": args.total or _yuan_sum(args.fund, args.base, "0.00"),
        "fund_paid": args.fund,
        "self_pay_in_policy": args.base,
        "self_pay_out_policy": "0.00",
        "diagnosis_code": args.diagnosis,
    }


def _show(step: str, status: int, answer: dict) -> None:
    extra = ""
    if answer.get("amount") is not None and status == 200:
        extra = f" amount={answer.get('amount')} duplicate={answer.get('duplicate')}"
    print(
        f"{step:<28} HTTP {status}  code={answer.get('code')}{extra}  {answer.get('message') or answer.get('detail') or ''}"
    )


def demo(client: HospitalClient, args) -> dict:
    stay = _stay(args)
    sid = stay["settlement_id"]
    rid = f"req-{uuid.uuid4().hex[:12]}"
    steps = []

    def step(name, result, expect):
        status, answer = result
        _show(name, status, answer)
        ok = expect(status, answer)
        steps.append({"step": name, "status": status, "code": answer.get("code"), "ok": ok})
        return answer

    pre = step("presettle", client.presettle(stay), lambda s, a: s == 200)
    first = step("settle", client.settle(stay, rid), lambda s, a: s == 200)
    step(
        "settle again (retry)",
        client.settle(stay, rid),
        lambda s, a: s == 200 and a == first,
    )
    step(
        "settle, new request_id",
        client.settle(stay, rid + "-2"),
        lambda s, a: s == 200 and (a.get("duplicate") is True or first.get("code") != "ok"),
    )
    step(
        "same request_id, new body",
        client.settle({**stay, "self_pay_in_policy": "1.00"}, rid),
        lambda s, a: s == 409 and a.get("code") == "request_id_reused",
    )
    if first.get("code") == "ok":
        cancel_rid = f"cancel-{uuid.uuid4().hex[:12]}"
        done = step(
            "cancel", client.cancel(sid, cancel_rid, "患者退费"), lambda s, a: a.get("code") == "ok"
        )
        step(
            "cancel again (retry)",
            client.cancel(sid, cancel_rid, "患者退费"),
            lambda s, a: a == done,
        )
        step(
            "cancel, new request_id",
            client.cancel(sid, cancel_rid + "-2", "患者退费"),
            lambda s, a: a.get("code") == "already_cancelled",
        )
    return {
        "settlement_id": sid,
        "presettle_amount": pre.get("amount"),
        "settled_amount": first.get("amount"),
        "steps": len(steps),
        "failed": [s["step"] for s in steps if not s["ok"]],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Scripted hospital cashier (one-stop settlement)")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", required=True, help="key id (X-Huzhu-Key)")
    parser.add_argument("--secret", required=True)
    parser.add_argument("--hospital", required=True, help="hospital code")
    sub = parser.add_subparsers(dest="action", required=True)
    for name in ("demo", "presettle", "settle"):
        p = sub.add_parser(name)
        p.add_argument("--id-number", required=True)
        p.add_argument("--name", default="")
        p.add_argument("--hospital-name", default="")
        p.add_argument("--settlement-id", default="")
        p.add_argument("--admit", default="")
        p.add_argument("--discharge", default="")
        p.add_argument("--base", default="3000.00", help="self_pay_in_policy in yuan")
        p.add_argument("--total", default="", help="default: fund + base")
        p.add_argument("--fund", default="6000.00")
        p.add_argument("--diagnosis", default="J18.900")
        p.add_argument("--request-id", default="")
    c = sub.add_parser("cancel")
    c.add_argument("--settlement-id", required=True)
    c.add_argument("--request-id", default="")
    c.add_argument("--reason", default="")
    args = parser.parse_args(argv)
    client = HospitalClient(args.url, args.key, args.secret, args.hospital)
    if args.action == "demo":
        summary = demo(client, args)
        print(json.dumps(summary, ensure_ascii=False))
        return 1 if summary["failed"] else 0
    if args.action == "cancel":
        status, answer = client.cancel(
            args.settlement_id, args.request_id or uuid.uuid4().hex, args.reason
        )
    elif args.action == "presettle":
        status, answer = client.presettle(_stay(args))
    else:
        status, answer = client.settle(_stay(args), args.request_id or uuid.uuid4().hex)
    print(json.dumps({"status": status, **answer}, ensure_ascii=False))
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
