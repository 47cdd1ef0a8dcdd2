"""The config hierarchy: yaml < config.json < secrets.json < .env < environment; one clear error for bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.config import ConfigError, Secret, load_config, mask_secret, save_overrides

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config" / "config.yaml"


@pytest.fixture
def cdir(tmp_path: Path) -> Path:
    d = tmp_path / "config"
    d.mkdir()
    shutil.copy(REPO_CONFIG, d / "config.yaml")
    return d


def test_shipped_config_loads_with_seed_defaults(cdir):
    cfg = load_config(cdir, env={})
    assert cfg.engine.exchange == "sim" and cfg.engine.quote_interval_ms == 250
    assert cfg.strategy.spread_bps == 6 and cfg.strategy.step_bps == 1.6
    assert {k: v.levels for k, v in cfg.strategy.modes.items()} == {
        "CONSERVATIVE": 1, "AGGRESSIVE": 5, "AGGRESSIVE_PLUS": 7}
    assert [cfg.strategy.modes[m].margin_pct for m in ("CONSERVATIVE", "AGGRESSIVE", "AGGRESSIVE_PLUS")] == [1, 5, 6]
    assert (cfg.hygiene.max_order_age_s, cfg.hygiene.drift_bps, cfg.hygiene.stale_depth_bps,
            cfg.hygiene.max_replacements_per_cycle, cfg.hygiene.min_requote_interval_ms) == (90, 3, 8, 20, 150)
    assert cfg.active_symbols() == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    assert cfg.symbol_config("SOL/USDT").tier == "VOLATILE"
    assert cfg.database_url.startswith("sqlite:////") and cfg.database_url.endswith("data/marketmaker.db")


def test_layers_override_in_order(cdir, tmp_path):
    (cdir / "config.json").write_text(json.dumps({"strategy": {"risk_mode": "AGGRESSIVE", "spread_bps": 8}}))
    (tmp_path / "secrets.json").write_text(json.dumps(
        {"exchanges": {"kucoin": {"api_key": "k-from-secrets-1234567", "api_secret": "s" * 32, "passphrase": "pp"}},
         "alerts": {"telegram": {"bot_token": "t-from-secrets-123456", "chat_id": "42"}}}))
    (tmp_path / ".env").write_text("KUCOIN_API_KEY=k-from-dotenv-1234567\nDATABASE_URL=sqlite:///from-dotenv.db\n")
    cfg = load_config(cdir, env={"KUCOIN_API_KEY": "68da47b0aaaaaaaaaaaaaaaa97a4", "TELEGRAM_CHAT_ID": "99"})
    assert cfg.strategy.risk_mode == "AGGRESSIVE" and cfg.strategy.spread_bps == 8
    assert cfg.strategy.step_bps == 1.6  # untouched keys keep the yaml value
    kc = cfg.credentials["kucoin"]
    assert kc.api_key.reveal() == "68da47b0aaaaaaaaaaaaaaaa97a4"  # environment beats .env beats secrets.json
    assert kc.api_secret.reveal() == "s" * 32 and kc.passphrase.reveal() == "pp"
    assert cfg.telegram.chat_id == "99" and cfg.telegram.bot_token.reveal() == "t-from-secrets-123456"
    assert cfg.database_url.endswith("from-dotenv.db")
    assert str(tmp_path / "secrets.json") in cfg.sources


def test_secrets_never_print_themselves(cdir):
    cfg = load_config(cdir, env={"BINANCE_API_KEY": "68da47b0c0ffee00112233445566778897a4",
                                 "BINANCE_API_SECRET": "supersecretvalue-abcdef"})
    text = repr(cfg) + str(cfg.credentials)
    assert "68da47b0c0ffee" not in text and "supersecretvalue" not in text
    assert "68da...97a4" in text
    assert repr(Secret("abcdefghijklmnop")) == "Secret(abc...op)"


@pytest.mark.parametrize("length", range(1, 65))
def test_a_mask_shows_a_few_characters_and_never_more_than_a_third(length):
    value = "".join(chr(ord("a") + i % 26) for i in range(length))
    masked = mask_secret(value)
    shown = len(masked.replace("...", "")) if "..." in masked else 0
    assert shown <= 8 and shown <= length / 3
    assert value not in masked or length == 0
    assert not any(c in masked for c in "*_`#[]")  # plain text: markdown would render it blank or bold


def test_mask_examples():
    assert mask_secret("68da47b0c0ffee00112233445566778897a4") == "68da...97a4"
    assert mask_secret("passphrase12") == "pa...12"  # 12 characters: 4 shown, was shown in full
    assert mask_secret("passphrase12345") == "pas...45"  # 15: 5 shown, was 12
    assert mask_secret("short") == "••••••" and mask_secret(None) == "(not set)" and mask_secret("") == "(not set)"


@pytest.mark.parametrize("override, expected", [
    ({"strategy": {"spred_bps": 6}}, "config.json: strategy.spred_bps = 6: unknown key; allowed: risk_mode"),
    ({"strategy": {"spread_bps": -6}}, "config.json: strategy.spread_bps = -6: must be greater than 0"),
    ({"strategy": {"risk_mode": "YOLO"}},
     "config.json: strategy.risk_mode = 'YOLO': must be one of CONSERVATIVE, AGGRESSIVE, AGGRESSIVE_PLUS"),
    ({"engine": {"quote_interval_ms": "fast"}}, "config.json: engine.quote_interval_ms = 'fast': must be a whole"),
    ({"hygiene": {"max_replacements_per_cycle": 2.5}}, "must be a whole number"),
    ({"symbols": {"sim": {"BTC/USDT": {"tier": "SAFE"}}}}, "symbols.sim.BTC/USDT.tier = 'SAFE': must be one of STABLE"),
    ({"symbols": {"sim": {"BTCUSDT": {}}}}, "symbols are written like BTC/USDT"),
    ({"engine": {"exchange": "kucoin"}}, "no enabled symbol for the engine's exchange 'kucoin'"),
    ({"sim": {"fees": {"maker": "cheap"}}}, "sim.fees.maker = 'cheap': must be a number"),
    ({"wat": 1}, "config.json: wat = 1: unknown key; allowed top-level keys"),
    ({"risk": {"breakers": {"drawdown": {"threshold": 1e12}}}},  # a huge number never switches a protection off
     "risk.breakers.drawdown.threshold = 1000000000000.0: must be at most 2,000 bps; to switch the breaker off, "
     "set risk.breakers.drawdown.enabled: false"),
    ({"risk": {"caps": {"max_inventory_per_symbol_usd": 1e15}}},
     "max_inventory_per_symbol_usd = 1000000000000000.0: must be <= 1000000"),
    ({"risk": {"caps": {"max_open_orders_per_symbol": 999_999_999}}},
     "max_open_orders_per_symbol = 999999999: must be"),
    ({"risk": {"breakers": {"error_rate": {"threshold": 10}}}}, "error_rate.threshold = 10: must be at most 1"),
])
def test_a_bad_value_gives_one_message_naming_file_key_value_and_rule(cdir, override, expected):
    (cdir / "config.json").write_text(json.dumps(override))
    with pytest.raises(ConfigError) as err:
        load_config(cdir, env={})
    assert expected in str(err.value)
    assert str(cdir / "config.json") in str(err.value) or "config.json" in str(err.value)


def test_bad_yaml_and_bad_secret_keys(cdir, tmp_path):
    (cdir / "config.yaml").write_text("engine: [unclosed")
    with pytest.raises(ConfigError, match="config.yaml: not valid YAML"):
        load_config(cdir, env={})
    shutil.copy(REPO_CONFIG, cdir / "config.yaml")
    (tmp_path / "secrets.json").write_text(json.dumps({"exchanges": {"binance": {"apikey": "x" * 20}}}))
    with pytest.raises(ConfigError) as err:
        load_config(cdir, env={})
    assert "exchanges.binance.apikey = ***: unknown key" in str(err.value) and "xxxx" not in str(err.value)


def test_save_overrides_is_atomic_and_validated(cdir):
    path = save_overrides({"strategy": {"risk_mode": "AGGRESSIVE_PLUS"}}, cdir)
    assert json.loads(path.read_text()) == {"strategy": {"risk_mode": "AGGRESSIVE_PLUS"}}
    save_overrides({"strategy": {"spread_bps": 7}}, cdir)
    assert load_config(cdir, env={}).strategy.risk_mode == "AGGRESSIVE_PLUS"
    assert load_config(cdir, env={}).strategy.spread_bps == 7
    with pytest.raises(ConfigError, match="spread_bps = -1"):
        save_overrides({"strategy": {"spread_bps": -1}}, cdir)
    assert json.loads(path.read_text())["strategy"] == {"risk_mode": "AGGRESSIVE_PLUS", "spread_bps": 7}
    assert [p.name for p in cdir.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("secrets, shown", [
    ({"exchanges": {"kucoin": "supersecret123"}}, "exchanges.kucoin = ***: must hold api_key"),
    ({"alerts": {"telegram": {"bot_tok": "123456:supersecret123"}}}, "alerts.telegram.bot_tok = ***: unknown key"),
    ({"alerts": {"max_per_minute": "supersecret123"}}, "alerts.max_per_minute = ***:"),
])
def test_a_config_error_never_shows_a_value_read_from_the_secrets(cdir, tmp_path, secrets, shown):
    (tmp_path / "secrets.json").write_text(json.dumps(secrets))
    with pytest.raises(ConfigError) as err:
        load_config(cdir, env={})
    assert shown in str(err.value) and "supersecret" not in str(err.value)


def test_a_config_error_from_dotenv_or_the_environment_is_masked_too(cdir, tmp_path):
    (tmp_path / ".env").write_text("DATABASE_URL=nosuch-supersecret123\n")
    with pytest.raises(ConfigError) as err:
        load_config(cdir, env={})
    assert "database.url = ***" in str(err.value) and "supersecret" not in str(err.value)


def test_a_config_file_that_is_not_utf8_is_named(cdir):
    (cdir / "config.yaml").write_bytes(b"engine:\n  exchange: sim \xff\n")
    with pytest.raises(ConfigError, match=r"config.yaml: not UTF-8 text \(byte 0xff at position 24\); save it as"):
        load_config(cdir, env={})


def test_a_reload_says_what_changed(cdir):
    from engine.config import changes_between

    old = load_config(cdir, env={})
    (cdir / "config.json").write_text(json.dumps({"strategy": {"risk_mode": "AGGRESSIVE"},
                                                  "risk": {"breakers": {"volatility": {"threshold": 1.5}}}}))
    new = load_config(cdir, env={"BINANCE_API_KEY": "68da47b0c0ffee00112233445566778897a4"})
    assert changes_between(old, new) == ["risk.breakers.volatility.threshold: 5.0 -> 1.5",
                                         "strategy.risk_mode: 'CONSERVATIVE' -> 'AGGRESSIVE'"]
    assert changes_between(new, new) == []
