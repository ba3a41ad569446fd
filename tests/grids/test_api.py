from __future__ import annotations

from fastapi.testclient import TestClient


def resolve(client: TestClient, auth: dict[str, str], **body: object) -> dict:
    response = client.post("/api/v1/grids/resolve", json=body, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


def test_text_resolution(client: TestClient, auth: dict[str, str]) -> None:
    result = resolve(client, auth, text="长寿苑小区3栋门口的垃圾好几天没人收")
    assert result["status"] == "confident"
    top = result["candidates"][0]
    assert top["community"] == "长寿苑社区"
    assert top["matched_text"] == "长寿苑小区3栋"
    assert top["worker_name"] and top["span"] == [0, 7]
    village = resolve(client, auth, text="白佛村三组的水渠堵了")
    assert village["candidates"][0]["grid_name"].startswith("白佛村三组")
    assert resolve(client, auth, text="我家楼下的路灯坏了")["status"] == "none"
    vague = resolve(client, auth, text="玉林北路上的路灯坏了好几盏")
    assert vague["status"] == "needs_detail" and 2 <= len(vague["candidates"]) <= 4


def test_gps_resolution(client: TestClient, auth: dict[str, str]) -> None:
    grid = client.get("/api/v1/grids/510107001001001", headers=auth).json()
    (x0, y0), (x1, y1) = grid["boundary"][0], grid["boundary"][2]
    inside = resolve(client, auth, latitude=(y0 + y1) / 2, longitude=(x0 + x1) / 2)
    assert inside["status"] == "confident" and inside["source"] == "gps"
    assert inside["candidates"][0]["grid_code"] == "510107001001001"
    assert resolve(client, auth, latitude=0.0, longitude=0.0)["status"] == "none"
    assert [c["tier"] for c in grid["chain"]] == ["grid", "community", "street", "district"]


def test_bad_requests_are_4xx(client: TestClient, auth: dict[str, str]) -> None:
    for body in (
        {},
        {"text": "   "},
        {"latitude": 30.6},
        {"latitude": 200, "longitude": 104},
        {"latitude": "north", "longitude": 104},
        {"text": "长" * 10000},
    ):
        response = client.post("/api/v1/grids/resolve", json=body, headers=auth)
        assert response.status_code == 422, body
    assert client.get("/api/v1/grids/nope", headers=auth).status_code == 404
    assert client.post("/api/v1/grids/resolve", json={"text": "玉林"}).status_code == 401
