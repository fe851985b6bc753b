"""Local fakes of outside services, speaking their documented HTTP APIs, for tests, the
browser test and `make demo` (no internet needed):

- `huzhu.fakes.wechat`: the WeChat official-account API and web-page authorization;
- `huzhu.fakes.sms`: Tencent Cloud SMS `SendSms` (checks the TC3 signature).

Run one with `python -m huzhu.fakes wechat|sms --port N`; tests start them in a thread
(`serve_in_thread`).
"""
