"""How the device applies pulled pages: versions decide, the last change of a row counts.

The upsert statement keeps a row that holds a newer version by itself, so a page of rows
the replica may already hold goes in without looking versions up; these prove it
decides as the version lookups did.
"""

from __future__ import annotations

import gc

import pytest

from sync.client import Replica


class Pages:
    """A server that answers the pages it is given, one per pull request."""

    def __init__(self, *pages: list[dict]):
        self.pages = list(pages)

    def pull(self, cursor, limit):
        changes = self.pages.pop(0)
        return {"changes": changes, "cursor": str(len(self.pages)), "has_more": bool(self.pages)}


def upsert(row_id: str, version: int, name: str) -> dict:
    return {"entity": "customer", "id": row_id, "op": "upsert", "version": version, "hlc": None,
            "data": {"name": name}}


def delete(row_id: str, version: int) -> dict:
    return {"entity": "customer", "id": row_id, "op": "delete", "version": version, "hlc": None, "data": None}


def pulled(tmp_path, *pages: list[dict]) -> Replica:
    replica = Replica(tmp_path / "r.db", "dev", Pages(*pages))
    replica.pull()
    return replica


def test_a_pulled_row_older_than_the_one_held_is_skipped(tmp_path):
    replica = pulled(tmp_path, [upsert("c1", 5, "new")], [upsert("c1", 3, "old"), upsert("c2", 1, "other")])
    assert replica.get("customer", "c1")["name"] == "new"
    assert replica.rows.versions("customer", ["c1", "c2"]) == {"c1": 5, "c2": 1}


def test_a_page_naming_a_row_twice_applies_its_last_change(tmp_path):
    replica = pulled(tmp_path, [upsert("c1", 1, "first"), upsert("c1", 2, "second"), upsert("c2", 1, "x"),
                                delete("c2", 2)])
    assert replica.get("customer", "c1")["name"] == "second"
    assert replica.get("customer", "c2") is None


def test_a_row_deleted_by_a_pull_is_not_taken_back_by_an_older_copy_only_by_a_newer_one(tmp_path):
    replica = pulled(tmp_path, [upsert("c1", 1, "a")], [delete("c1", 4)], [upsert("c1", 3, "stale")])
    assert replica.get("customer", "c1") is None
    replica.transport = Pages([upsert("c1", 5, "back")])
    replica.pull()
    assert replica.get("customer", "c1")["name"] == "back"


def test_a_pulled_row_with_a_pending_local_edit_keeps_the_edit(tmp_path):
    replica = pulled(tmp_path, [upsert("c1", 1, "server")])
    replica.update("customer", "c1", phone="555")
    replica.transport = Pages([{**upsert("c1", 2, "renamed"), "data": {"name": "renamed", "phone": None}}])
    replica.pull()
    assert (replica.get("customer", "c1")["name"], replica.get("customer", "c1")["phone"]) == ("renamed", "555")


def test_the_collector_is_on_again_after_a_pull_even_a_failed_one(tmp_path):
    replica = pulled(tmp_path, [upsert("c1", 1, "a")])
    assert gc.isenabled()
    replica.transport = Pages()  # no page to give: the pull fails
    with pytest.raises(IndexError):
        replica.pull()
    assert gc.isenabled()
