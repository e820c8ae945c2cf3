"""JSON answers are gzipped for a client that accepts gzip, and only then."""

from __future__ import annotations

import gzip

import orjson

from tests.conftest import auth_header, http_client


def _big_pull(client, person, encoding: str):
    headers = {**auth_header(person), "Accept-Encoding": encoding}
    return client.get("/v1/sync/pull?limit=1000", headers=headers)


def _fill(replica_for, people) -> None:
    desk = replica_for(people["desk"])
    for k in range(40):
        desk.insert("customer", name=f"Huaxin Printing Co. {k}", zone="ring2", phone="010-6555-0101")
    desk.sync()


def test_a_pull_page_is_gzipped_when_the_client_accepts_gzip(client, people, replica_for):
    _fill(replica_for, people)
    plain = _big_pull(client, people["desk"], "identity")
    packed = _big_pull(client, people["desk"], "gzip, deflate")
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert orjson.loads(gzip.decompress(packed.data)) == orjson.loads(plain.data)
    assert len(packed.data) < len(plain.data) / 3


def test_a_small_answer_is_sent_as_it_is(client, people):
    response = client.get("/v1/sync/pull", headers={**auth_header(people["wang"]), "Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers


def test_the_device_transport_reads_gzipped_pages_transparently(app, people, replica_for):
    _fill(replica_for, people)
    manager = replica_for(people["manager"])
    assert manager.sync().pulled >= 40
    with http_client(app) as client:
        response = client.get("/v1/sync/pull?limit=1000", headers=auth_header(people["manager"]))
    assert response.headers["Content-Encoding"] == "gzip"
    assert len(response.json()["changes"]) >= 40
