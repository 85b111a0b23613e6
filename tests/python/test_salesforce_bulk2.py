"""simple-salesforce 1.12.10's Bulk API 2.0 client (`sf.bulk2`) against the Salesforce sandbox:
ingest jobs (create, upload CSV, close, poll, per-row results), a job that fails as a whole, query
jobs paged with Sforce-Locator, and the daily Bulk limits. An independent check of our wire format
(docs/wire-notes.md §10e)."""
import csv
import io

import pytest

pytest.importorskip("simple_salesforce")
from simple_salesforce.exceptions import SalesforceOperationError  # noqa: E402

from test_salesforce_simple import origin, sf  # noqa: E402,F401  (the logged-in client fixtures)


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_an_upsert_job_reports_each_row_created_updated_or_failed(sf):
    first = sf.bulk2.Account.upsert(
        records=[{"SAP_CardCode__c": "BULKPY1", "Name": "Bulk One"}, {"SAP_CardCode__c": "BULKPY2", "Name": "Bulk Two"}],
        external_id_field="SAP_CardCode__c", wait=0.05)
    assert [(r["numberRecordsProcessed"], r["numberRecordsFailed"], r["numberRecordsTotal"]) for r in first] == [(2, 0, 2)]

    # The same key again updates; a new key without the required Name fails alone.
    again = sf.bulk2.Account.upsert(
        records=[{"SAP_CardCode__c": "BULKPY1", "Name": "Bulk One renamed"}, {"SAP_CardCode__c": "BULKPY3", "Name": ""}],
        external_id_field="SAP_CardCode__c", wait=0.05)
    job_id = again[0]["job_id"]
    assert (again[0]["numberRecordsProcessed"], again[0]["numberRecordsFailed"]) == (2, 1)
    succeeded = rows(sf.bulk2.Account.get_successful_records(job_id))
    assert [(r["sf__Created"], r["SAP_CardCode__c"]) for r in succeeded] == [("false", "BULKPY1")]
    assert succeeded[0]["sf__Id"].startswith("001")
    failed = rows(sf.bulk2.Account.get_failed_records(job_id))
    assert [r["SAP_CardCode__c"] for r in failed] == ["BULKPY3"]
    assert failed[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING:"), failed[0]["sf__Error"]
    assert rows(sf.bulk2.Account.get_unprocessed_records(job_id)) == []

    found = sf.query("SELECT Name FROM Account WHERE SAP_CardCode__c = 'BULKPY1'")["records"]
    assert [r["Name"] for r in found] == ["Bulk One renamed"]


def test_a_job_naming_an_unknown_field_fails_as_a_whole(sf):
    with pytest.raises(SalesforceOperationError) as failure:
        sf.bulk2.Account.upsert(records=[{"SAP_CardCode__c": "BULKPY9", "Name": "X", "No_Such__c": "1"}],
                                external_id_field="SAP_CardCode__c", wait=0.05)
    assert "Field name not found : No_Such__c" in str(failure.value)
    assert sf.query("SELECT Id FROM Account WHERE SAP_CardCode__c = 'BULKPY9'")["totalSize"] == 0


def test_a_query_job_pages_with_the_locator_and_matches_rest(sf):
    before = sf.limits()["DailyBulkV2QueryJobs"]["Remaining"]
    pages = list(sf.bulk2.Account.query("SELECT Id, Name, SAP_CardCode__c FROM Account ORDER BY Id", max_records=25, wait=0.05))
    assert len(pages) > 1, "more accounts than one page of 25"
    bulk_ids = [r["Id"] for page in pages for r in rows(page)]
    rest_ids = [r["Id"] for r in sf.query_all("SELECT Id FROM Account ORDER BY Id")["records"]]
    assert bulk_ids == rest_ids
    assert sf.limits()["DailyBulkV2QueryJobs"]["Remaining"] == before - 1


def test_an_upsert_without_an_external_id_field_is_refused_at_creation(sf):
    from simple_salesforce.exceptions import SalesforceMalformedRequest
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.bulk2.Account.upsert(records=[{"Name": "X"}], external_id_field="Name", wait=0.05)
    assert "is not an External ID" in str(refused.value)
