from tests.conftest import stock_of


def test_create_and_read_back(api, make_stock):
    make_stock("SKU-1", on_hand=10)
    created = api.post("/api/v1/reservations/", {"user_id": "u1", "sku": "SKU-1", "quantity": 3}, format="json")
    assert created.status_code == 201, created.content
    fetched = api.get(f"/api/v1/reservations/{created.data['reservation_id']}/")
    assert fetched.status_code == 200
    assert fetched.data["quantity"] == 3
    assert fetched.data["status"] == "temporary"
    assert stock_of("SKU-1").reserved == 3
