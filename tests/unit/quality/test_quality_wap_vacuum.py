"""After the build, write-audit-publish vacuums the incremental models the manifest lists; a
vacuum that fails is logged and never fails the build."""

from __future__ import annotations

import json
import logging

import psycopg

from dealerfunnel.quality import wap


def _manifest(tmp_path):
    path = tmp_path / "manifest.json"
    path.write_text(
        json.dumps(
            {
                "nodes": {
                    "model.p.fct_leads": {
                        "resource_type": "model",
                        "schema": "marts_candidate",
                        "name": "fct_leads",
                        "alias": "fct_leads",
                        "config": {"materialized": "incremental"},
                    },
                    "model.p.mart": {
                        "resource_type": "model",
                        "schema": "marts_candidate",
                        "name": "mart",
                        "alias": "mart",
                        "config": {"materialized": "table"},
                    },
                }
            }
        )
    )
    return path


def test_the_manifests_incremental_models_are_vacuumed(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(wap, "vacuum_dead_tables", lambda url, tables: calls.append((url, tables)))
    wap._vacuum_incremental_models("postgresql://u@h/d", _manifest(tmp_path))
    assert calls == [("postgresql://u@h/d", [("marts_candidate", "fct_leads")])]


def test_no_manifest_no_vacuum(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(wap, "vacuum_dead_tables", lambda url, tables: calls.append(tables))
    wap._vacuum_incremental_models("postgresql://u@h/d", tmp_path / "manifest.json")
    assert calls == []


def test_a_failed_vacuum_is_logged_not_raised(tmp_path, monkeypatch, caplog):
    def refuse(url, tables):
        raise psycopg.errors.LockNotAvailable("canceling statement due to lock timeout")

    monkeypatch.setattr(wap, "vacuum_dead_tables", refuse)
    with caplog.at_level(logging.WARNING, logger=wap.log.name):
        wap._vacuum_incremental_models("postgresql://u@h/d", _manifest(tmp_path))
    assert "vacuum after the build failed" in caplog.text
    assert "lock timeout" in caplog.text
