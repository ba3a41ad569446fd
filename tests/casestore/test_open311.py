from __future__ import annotations

from fastapi.testclient import TestClient

from core.taxonomy import Taxonomy
from tests.app_fixtures import TOKEN, draft_body


def test_services_are_the_taxonomy(client: TestClient, taxonomy: Taxonomy) -> None:
    services = client.get("/open311/v2/services.json").json()
    assert [s["service_code"] for s in services] == taxonomy.codes()
    assert services[0]["service_name"] == "城乡建设"
    definition = client.get("/open311/v2/services/labor_social_security.json").json()
    keys = [v["key"] for v in definition["attributes"][0]["values"]]
    assert "unpaid_wages" in keys
    missing = client.get("/open311/v2/services/nope.json")
    assert missing.status_code == 404
    assert missing.json()[0]["code"] == 404


def test_requests_list_and_get(client: TestClient, auth: dict[str, str]) -> None:
    number = client.post("/api/v1/tickets", json=draft_body(), headers=auth).json()["number"]
    listed = client.get("/open311/v2/requests.json").json()
    assert listed[0]["service_request_id"] == number
    assert listed[0]["service_code"] == "urban_construction"
    assert listed[0]["address"] == "玉林北路18号"
    assert listed[0]["status"] == "open"
    assert "contact_phone" not in listed[0]  # no personal data on the public API
    one = client.get(f"/open311/v2/requests/{number}.json").json()
    assert one[0]["description"].startswith("玉林北路18号门口")
    assert client.get("/open311/v2/requests/2020010100001.json").status_code == 404
    by_code = client.get("/open311/v2/requests.json", params={"service_code": "disputes"})
    assert by_code.json() == []
    assert client.get("/open311/v2/requests.json", params={"service_code": "x"}).status_code == 400
    assert client.get("/open311/v2/requests.json", params={"status": "weird"}).status_code == 422


def test_post_request(client: TestClient) -> None:
    form = {
        "api_key": TOKEN,
        "service_code": "environmental_protection",
        "description": "芳草街的烧烤摊油烟很大",
        "address_string": "芳草街",
        "lat": "30.63",
        "long": "104.05",
        "attribute[subcategory]": "air_pollution",
    }
    created = client.post(
        "/open311/v2/requests.json", data=form, headers={"Idempotency-Key": "k1-abcdef"}
    )
    assert created.status_code == 200
    number = created.json()[0]["service_request_id"]
    again = client.post(
        "/open311/v2/requests.json", data=form, headers={"Idempotency-Key": "k1-abcdef"}
    )
    assert again.json()[0]["service_request_id"] == number
    fetched = client.get(f"/open311/v2/requests/{number}.json").json()[0]
    assert fetched["service_subcode"] == "air_pollution"
    assert fetched["lat"] == 30.63
    denied = client.post("/open311/v2/requests.json", data={**form, "api_key": "nope"})
    assert denied.status_code == 403
    bad = client.post("/open311/v2/requests.json", data={**form, "description": ""})
    assert bad.status_code == 400
    assert bad.json()[0]["description"].startswith("description")
    wrong_code = client.post("/open311/v2/requests.json", data={**form, "service_code": "zz"})
    assert wrong_code.status_code == 400


def test_times_carry_their_offset(client: TestClient, auth: dict[str, str]) -> None:
    number = client.post("/api/v1/tickets", json=draft_body(), headers=auth).json()["number"]
    request = client.get(f"/open311/v2/requests/{number}.json").json()[0]
    assert request["requested_datetime"].endswith("+00:00")
    ticket = client.get(f"/api/v1/tickets/{number}", headers=auth).json()
    assert ticket["due_at"].endswith("Z") or ticket["due_at"].endswith("+00:00")
