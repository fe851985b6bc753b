# Huzhu: the two commands of the README, and a few more.
#   make demo   set up .venv, migrate the embedded SQLite database, load demo data, serve :8000
#   make test   lint + the whole test suite (creates/updates .venv as needed)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
# The demo's local fake WeChat and fake Tencent SMS (huzhu/fakes/, docs/wechat.md).
FAKE_WECHAT_PORT ?= 8181
FAKE_SMS_PORT ?= 8182
FAKE_WECHAT := http://$(HOST):$(FAKE_WECHAT_PORT)
DEMO_ENV := DEBUG=1 HUZHU_BASE_URL=http://$(HOST):$(PORT) \
	HUZHU_WECHAT_APPID=wxfake0000000001 HUZHU_WECHAT_SECRET=fake-secret HUZHU_WECHAT_TOKEN=demo-token \
	HUZHU_WECHAT_API_BASE=$(FAKE_WECHAT) HUZHU_WECHAT_OPEN_BASE=$(FAKE_WECHAT) \
	$(foreach k,AUTO_CLAIM APPROVED RETURNED PAID PAYMENT_FAILED ADJUSTMENT,HUZHU_WECHAT_TEMPLATE_$(k)=demo_$(k)) \
	HUZHU_SMS_BACKEND=huzhu.members.sms_tencent.TencentSmsBackend HUZHU_SMS_SECRET_ID=AKIDfake \
	HUZHU_SMS_SECRET_KEY=fake-sms-key HUZHU_SMS_SDK_APP_ID=1400000001 HUZHU_SMS_SIGN_NAME=嵊州市总工会 \
	HUZHU_SMS_TEMPLATE_CODE=100001 HUZHU_SMS_TEMPLATE_NOTICE=100002 \
	HUZHU_SMS_ENDPOINT=http://$(HOST):$(FAKE_SMS_PORT)

.PHONY: demo test install lint format serve worker

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	DEBUG=1 $(BIN)/huzhu migrate --noinput
	$(BIN)/python -m huzhu.fakes wechat --host $(HOST) --port $(FAKE_WECHAT_PORT) & wx=$$!; \
	$(BIN)/python -m huzhu.fakes sms --host $(HOST) --port $(FAKE_SMS_PORT) & sms=$$!; \
	trap 'kill $$wx $$sms $$worker 2>/dev/null' EXIT INT TERM; sleep 1; \
	$(DEMO_ENV) $(BIN)/huzhu demo || exit 1; \
	echo "Serving http://$(HOST):$(PORT)/ (staff pages: /staff/, portal admin: /cms/); Ctrl-C stops."; \
	echo "Member pages as from WeChat: $(FAKE_WECHAT)/_fake/open?openid=o_demo_member_0001&next=http://$(HOST):$(PORT)/m/wechat/"; \
	$(DEMO_ENV) $(BIN)/huzhu db_worker --interval 1 & worker=$$!; \
	$(DEMO_ENV) $(BIN)/huzhu runserver $(HOST):$(PORT)

serve: $(STAMP)
	DEBUG=1 $(BIN)/huzhu runserver $(HOST):$(PORT)

worker: $(STAMP)
	DEBUG=1 $(BIN)/huzhu db_worker --interval 1

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(BIN)/python -m pytest
