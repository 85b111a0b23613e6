"""simple-salesforce 1.12.10 against the Salesforce sandbox: a fidelity check of the wire format.

simple-salesforce hard-codes https URLs, so a URL-rewriting adapter (reference/salesforce.md §7.1)
sends the fake My Domain host and the https form of the sandbox's own origin to its plain-HTTP origin.
"""
import urllib.parse

import pytest
import requests
from requests.adapters import HTTPAdapter

simple_salesforce = pytest.importorskip("simple_salesforce")
from simple_salesforce import Salesforce  # noqa: E402
from simple_salesforce.exceptions import SalesforceMalformedRequest  # noqa: E402

FAKE_DOMAIN = "b1force-sandbox.my"
FAKE_ORIGIN = f"https://{FAKE_DOMAIN}.salesforce.com"


class Loopback(HTTPAdapter):
    """Rewrites https URLs of a fake host to the sandbox's http origin."""

    def __init__(self, fake_origin, real_origin):
        super().__init__()
        self.fake_origin = fake_origin
        self.real_origin = real_origin

    def send(self, request, **kwargs):
        request.url = request.url.replace(self.fake_origin, self.real_origin, 1)
        return super().send(request, **kwargs)


@pytest.fixture(scope="module")
def origin(sandbox):
    return sandbox["SF_LOGIN_URL"].rstrip("/")


@pytest.fixture(scope="module")
def sf(sandbox, origin):
    port = urllib.parse.urlparse(origin).port
    session = requests.Session()
    session.mount(FAKE_ORIGIN, Loopback(FAKE_ORIGIN, origin))
    # instance_url is the sandbox's http origin; simple-salesforce turns it into https://127.0.0.1:<port>.
    https_self = f"https://127.0.0.1:{port}"
    session.mount(https_self, Loopback(https_self, origin))
    return Salesforce(
        consumer_key=sandbox["SF_CLIENT_ID"],
        consumer_secret=sandbox["SF_CLIENT_SECRET"],
        domain=FAKE_DOMAIN,
        version="63.0",
        session=session,
    )


def test_client_credentials_login_gives_a_session_on_the_sandbox_instance(sf, origin):
    assert sf.session_id.startswith("00D")
    assert sf.sf_instance == origin.replace("http://", "")
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] >= 60


def test_upsert_by_external_id_creates_then_updates(sf):
    assert sf.Account.upsert("SAP_CardCode__c/C50001", {"Name": "Simple One"}) == 201
    assert sf.Account.upsert("SAP_CardCode__c/C50001", {"Phone": "+49 30 1"}) == 200
    record = sf.Account.get_by_custom_id("SAP_CardCode__c", "C50001")
    assert (record["Name"], record["Phone"]) == ("Simple One", "+49 30 1")
    assert record["attributes"]["type"] == "Account"


def test_update_patches_a_record_and_tags_it_with_the_call_options_client(sf, origin):
    opp = sf.query("SELECT Id FROM Opportunity WHERE StageName = 'Closed Won' LIMIT 1")["records"][0]
    status = sf.Opportunity.update(opp["Id"], {"SAP_Sync_Status__c": "Synced", "SAP_DocEntry__c": 12},
                                   headers={"Sforce-Call-Options": "client=simple"})
    assert status == 204
    assert sf.Opportunity.get(opp["Id"])["SAP_DocEntry__c"] == 12
    changes = requests.get(f"{origin}/__sandbox/changes", timeout=10).json()
    last = [c for c in changes if c["recordId"] == opp["Id"]][-1]
    assert last["changeOrigin"] == "com/salesforce/api/rest/63.0;client=simple"
    assert "SAP_DocEntry__c" in last["changedFields"]


def test_collections_upsert_reports_each_record_in_order(sf):
    records = [{"attributes": {"type": "Account"}, "SAP_CardCode__c": f"C6{i:04}", "Name": f"Bulk {i}"}
               for i in range(150)]
    records[7] = {"attributes": {"type": "Account"}, "SAP_CardCode__c": "C60007", "IsWon": True}
    results = sf.restful("composite/sobjects/Account/SAP_CardCode__c", method="PATCH",
                         json={"allOrNone": False, "records": records})
    assert len(results) == 150
    assert results[7]["success"] is False
    assert results[7]["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert all(r["success"] and r["created"] for i, r in enumerate(results) if i != 7)


def test_query_all_follows_next_records_url(sf):
    more = [{"attributes": {"type": "Account"}, "SAP_CardCode__c": f"C7{i:04}", "Name": f"Paged {i}"}
            for i in range(200)]
    sf.restful("composite/sobjects/Account/SAP_CardCode__c", method="PATCH",
               json={"allOrNone": False, "records": more})
    total = sf.query("SELECT COUNT() FROM Account")["totalSize"]
    first = sf.query("SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=200"})
    assert first["done"] is False and len(first["records"]) == 200
    assert first["nextRecordsUrl"].startswith("/services/data/v63.0/query/01g")
    everything = sf.query_all("SELECT Id, Name, Account.Name FROM Contact")  # relationship paths
    assert everything["totalSize"] == len(everything["records"])
    paged = sf.query_all("SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=200"})
    assert paged["totalSize"] == total == len(paged["records"])
    assert len({r["Id"] for r in paged["records"]}) == total


def test_an_expired_session_is_renewed_by_the_client(sf, origin):
    requests.post(f"{origin}/__sandbox/expire-tokens", timeout=10).raise_for_status()
    assert sf.query("SELECT Id FROM Product2 WHERE ProductCode = 'A00001'")["totalSize"] == 1


def test_errors_come_back_as_arrays_the_client_understands(sf):
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.query("SELECT Id, XName FROM Account")
    assert raised.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_api_usage_is_parsed_from_sforce_limit_info(sf):
    sf.query("SELECT Id FROM Account LIMIT 1")
    usage = sf.api_usage["api-usage"]
    assert usage.total == 100000
    assert 0 < usage.used < usage.total
    assert sf.limits()["DailyApiRequests"]["Max"] == 100000


def test_order_products_need_the_orders_price_book_and_keep_their_entry(sf):
    account = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
    book = sf.query("SELECT Id FROM Pricebook2 WHERE IsStandard = true")["records"][0]["Id"]
    entry = sf.query(f"SELECT Id, UnitPrice FROM PricebookEntry WHERE Pricebook2Id = '{book}' "
                     "AND Product2.ProductCode = 'A00001'")["records"][0]
    order = sf.Order.create({"AccountId": account, "EffectiveDate": "2026-12-01", "Status": "Draft"})["id"]
    product = {"OrderId": order, "PricebookEntryId": entry["Id"], "Quantity": 2, "UnitPrice": 12.5,
               "SAP_Line_Key__c": "Orders/99/0"}
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.OrderItem.create(product)
    assert raised.value.content[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert sf.Order.update(order, {"Pricebook2Id": book}) == 204
    created = sf.OrderItem.create(product)["id"]
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.OrderItem.update(created, {"PricebookEntryId": entry["Id"]})
    assert raised.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    found = sf.query(f"SELECT Id, TotalAmount, (SELECT Id, SAP_Line_Key__c, Product2.SAP_ItemCode__c, ListPrice "
                     f"FROM OrderItems) FROM Order WHERE Id = '{order}'")["records"][0]
    assert found["TotalAmount"] == 25.0
    line = found["OrderItems"]["records"][0]
    assert (line["SAP_Line_Key__c"], line["ListPrice"]) == ("Orders/99/0", entry["UnitPrice"])
    deleted = sf.restful(f"composite/sobjects?ids={created}&allOrNone=false", method="DELETE")
    assert deleted == [{"id": created, "success": True, "errors": []}]
    assert sf.query(f"SELECT COUNT() FROM OrderItem WHERE OrderId = '{order}'")["totalSize"] == 0


def test_a_synced_quotes_lines_become_the_opportunitys_products_and_quote_totals_are_read_only(sf):
    # #14 item 2: the quote flow reads Quote/QuoteLineItem and Opportunity.SyncedQuote as documented.
    account = sf.query("SELECT Id FROM Account WHERE SAP_CardCode__c = 'C20000'")["records"][0]["Id"]
    entry = sf.query("SELECT Id, UnitPrice FROM PricebookEntry WHERE Product2.ProductCode = 'A00001' "
                     "AND Pricebook2.IsStandard = true")["records"][0]
    opp = sf.Opportunity.create({"Name": "Quoted", "AccountId": account, "StageName": "Proposal/Price Quote",
                                 "CloseDate": "2026-12-20"})["id"]
    quote = sf.Quote.create({"Name": "Q", "OpportunityId": opp, "ExpirationDate": "2027-01-15"})["id"]
    sf.QuoteLineItem.create({"QuoteId": quote, "PricebookEntryId": entry["Id"], "Quantity": 4,
                             "UnitPrice": entry["UnitPrice"], "Discount": 10})
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.Quote.update(quote, {"TotalPrice": 1})
    assert raised.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert sf.Opportunity.update(opp, {"SyncedQuoteId": quote}) == 204
    found = sf.query(f"SELECT Id, Status, IsSyncing, TotalPrice, Account.SAP_CardCode__c, "
                     f"(SELECT Product2.ProductCode, Quantity, Discount, TotalPrice FROM QuoteLineItems ORDER BY LineNumber) "
                     f"FROM Quote WHERE Id = '{quote}'")["records"][0]
    total = round(4 * entry["UnitPrice"] * 0.9, 2)
    assert (found["Status"], found["IsSyncing"], found["TotalPrice"]) == ("Draft", True, total)
    assert found["Account"]["SAP_CardCode__c"] == "C20000"
    assert found["QuoteLineItems"]["records"][0]["Product2"]["ProductCode"] == "A00001"
    deal = sf.query(f"SELECT Amount, SyncedQuote.SAP_Quotation_DocEntry__c, "
                    f"(SELECT Quantity, Discount FROM OpportunityLineItems) FROM Opportunity WHERE Id = '{opp}'")
    deal = deal["records"][0]
    assert deal["Amount"] == total and deal["OpportunityLineItems"]["records"][0]["Quantity"] == 4
