"""Input that tries SQL injection is inert (issue #12 item 4): CSV column names and values,
dealer folder names, the dealer registry and the notification config. Each either lands
verbatim as data or is refused with a reason naming it; no SQL error, no table dropped.

(Dealer codes of a reader mapping and BI role names: tests/integration/test_access.py.)
"""

from __future__ import annotations

import psycopg
import pytest
import yaml

from dealerfunnel.landing import load_landing
from dealerfunnel.landing.files import register_dealers
from dealerfunnel.notify.config import parse_notifications
from dealerfunnel.settings import ConfigError, load_dealer_registry

ATTACKS = [
    "x'); drop table raw.dealer_export__leads; --",
    'x"; drop schema ops cascade; --',
    "$$; select pg_sleep(30); $$",
    "../../../etc/passwd",
    "%s %(x)s {0} \\x00\\'",
    "张伟 Ωß 😀 ‮evil",
    "k" * 5000,
]


def _tables(url: str) -> set[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return set(
            conn.execute(
                "select schemaname, tablename from pg_tables where schemaname in ('raw', 'ops')"
            ).fetchall()
        )


def _landing(tmp_path, files: dict[str, str]):
    root = tmp_path / "landing"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _yaml(data: dict) -> str:
    return yaml.safe_dump(data, allow_unicode=True)


def _csv_field(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def test_column_names_and_values_that_look_like_sql_land_verbatim(clean_warehouse, tmp_path):
    before = _tables(clean_warehouse)
    odd_columns = [f"{attack[:200]}" for attack in ATTACKS]  # headers: up to 200 characters
    header = ",".join(["lead_id", "created_at", *map(_csv_field, odd_columns)])
    rows = [
        ",".join([_csv_field(f"L{i}-{attack[:50]}"), "2026-08-03 10:00:00"])
        + ","
        + ",".join(_csv_field(attack) for _ in odd_columns)
        for i, attack in enumerate(ATTACKS)
    ]
    root = _landing(tmp_path, {"SH001/leads_attack.csv": "\n".join([header, *rows]) + "\n"})
    report = load_landing(clean_warehouse, root)
    assert report["totals"]["rows_loaded"] == len(ATTACKS), report
    with psycopg.connect(clean_warehouse) as conn:
        loaded = conn.execute(
            "select lead_id, payload from raw.dealer_export__leads order by _row_number"
        ).fetchall()
    assert [lead_id for lead_id, _ in loaded] == [
        f"L{i}-{attack[:50]}" for i, attack in enumerate(ATTACKS)
    ]
    for (_, payload), attack in zip(loaded, ATTACKS, strict=True):
        for column in odd_columns:  # every odd column name is a key, every value verbatim
            assert payload[column] == attack
    assert _tables(clean_warehouse) == before


def test_a_folder_named_like_sql_or_a_path_is_refused_and_nothing_else_happens(
    clean_warehouse, tmp_path
):
    before = _tables(clean_warehouse)
    folders = ["x';drop table ops.dealers;--", "SH..%2f..%2fetc", "广州001", "D" * 200]
    files = {f"{folder}/leads.csv": "lead_id,created_at\nX1,2026-08-03\n" for folder in folders}
    files["SH001/leads.csv"] = "lead_id,created_at\nOK1,2026-08-03\n"
    report = load_landing(clean_warehouse, _landing(tmp_path, files))
    refused = {r["path"]: r["reason"] for r in report["refused"]}
    assert sorted(refused) == sorted(folders)
    assert all("dealer folder name" in reason for reason in refused.values())
    with psycopg.connect(clean_warehouse) as conn:
        ids = conn.execute("select lead_id from raw.dealer_export__leads").fetchall()
        dealers = conn.execute("select dealer_code from ops.dealers").fetchall()
    assert ids == [("OK1",)] and ("SH001",) in dealers
    assert _tables(clean_warehouse) == before


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    folder = tmp_path / "config"
    folder.mkdir()
    monkeypatch.setenv("DEALERFUNNEL_CONFIG_DIR", str(folder))
    return folder


@pytest.mark.parametrize(
    "code", ["SH001'; drop table ops.dealers; --", "../SH001", "上海1", "S" * 33]
)
def test_a_registry_dealer_code_that_is_not_a_code_names_the_key(config_dir, code):
    (config_dir / "dealers.yml").write_text(
        _yaml({"dealers": {code: {"dealer_name": "x"}}}), encoding="utf-8"
    )
    with pytest.raises(ConfigError) as info:
        load_dealer_registry()
    message = str(info.value)
    assert message.startswith("dealers.yml: dealers") and repr(code[:80]) in message


def test_registry_values_that_look_like_sql_are_stored_verbatim(clean_warehouse, config_dir):
    name, region, brand = ATTACKS[0], ATTACKS[5], ATTACKS[6][:300]
    (config_dir / "dealers.yml").write_text(
        _yaml({"dealers": {"SH001": {"dealer_name": name, "region": region, "brand": brand}}}),
        encoding="utf-8",
    )
    before = _tables(clean_warehouse)
    assert register_dealers(clean_warehouse, ["SH001"]) == []
    with psycopg.connect(clean_warehouse) as conn:
        row = conn.execute(
            "select dealer_name, region, brand from ops.dealers where dealer_code = 'SH001'"
        ).fetchone()
    assert row == (name, region, brand)
    assert _tables(clean_warehouse) == before
    with pytest.raises(ConfigError, match=r"dealers.yml: dealers.SH001.timezone"):
        (config_dir / "dealers.yml").write_text(
            _yaml({"dealers": {"SH001": {"timezone": "Asia/Shanghai'; drop table x; --"}}}),
            encoding="utf-8",
        )
        load_dealer_registry()


def _notifications(recipient: str = "ops", dealer: str = "SH001") -> dict:
    return {
        "recipients": {recipient: {"channels": [{"type": "outbox", "path": "outbox.jsonl"}]}},
        "routes": [{"recipients": [recipient], "match": {"dealer": dealer}}],
    }


@pytest.mark.parametrize("recipient", ["ops'; drop table ops.alerts; --", "a b", "运营"])
def test_a_recipient_name_that_is_not_a_name_is_refused_naming_it(recipient):
    with pytest.raises(ConfigError, match=r"notifications\.yml: recipients"):
        parse_notifications(_notifications(recipient=recipient), "notifications.yml")


def test_a_route_value_that_looks_like_sql_is_only_compared(tmp_path):
    config = parse_notifications(_notifications(dealer="SH001' or '1'='1"), "notifications.yml")
    alert = {"dealer_code": "SH001", "severity": "critical", "rule": "r", "rule_type": "threshold"}
    assert config.channels_for(alert) == []  # matches no real dealer: a literal, not SQL
    assert config.channels_for({**alert, "dealer_code": "SH001' or '1'='1"})
