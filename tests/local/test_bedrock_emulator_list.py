"""ListModelInvocationJobs through boto3: every filter, both sort orders, page boundaries and tokens."""

from __future__ import annotations

import json
import math
import random
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.bedrock_emulator import STATUSES, BedrockEmulator
from tests.fixtures.aws import REGION
from tests.fixtures.bedrock import assert_matches_shape

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def list_all(client: Any, **query: Any) -> tuple[list[dict[str, Any]], int]:
    """Every summary of a query, following nextToken by hand, and the number of pages read."""
    summaries: list[dict[str, Any]] = []
    pages = 0
    while True:
        page = client.list_model_invocation_jobs(**query)
        pages += 1
        summaries.extend(page["invocationJobSummaries"])
        if "nextToken" not in page:
            return summaries, pages
        query["nextToken"] = page["nextToken"]


def arns(summaries: list[dict[str, Any]]) -> list[str]:
    return [summary["jobArn"] for summary in summaries]


def validation_error(client: Any, **query: Any) -> str:
    with pytest.raises(ClientError) as caught:
        client.list_model_invocation_jobs(**query)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    return str(caught.value.response["Error"]["Message"])


@pytest.fixture
def unvalidated_client(bedrock: BedrockEmulator) -> Any:
    """A client that sends what botocore would refuse, to see the service's own validation."""
    config = Config(parameter_validation=False, retries={"total_max_attempts": 1})
    return boto3.client("bedrock", region_name=REGION, config=config)


def test_newest_first_by_default_and_oldest_first_on_request(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    created = bedrock.create_jobs(5, start=T0)

    newest_first = bedrock_client.list_model_invocation_jobs()["invocationJobSummaries"]
    descending = bedrock_client.list_model_invocation_jobs(sortBy="CreationTime", sortOrder="Descending")
    ascending = bedrock_client.list_model_invocation_jobs(sortBy="CreationTime", sortOrder="Ascending")

    assert arns(newest_first) == created[::-1]
    assert arns(descending["invocationJobSummaries"]) == created[::-1]
    assert arns(ascending["invocationJobSummaries"]) == created


def test_jobs_submitted_at_the_same_moment_sort_by_job_id(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    created = [bedrock.create_job(f"same-{index}", submit_time=T0) for index in range(20)]

    listed, _ = list_all(bedrock_client, sortOrder="Ascending", maxResults=3)

    assert arns(listed) == sorted(created, key=lambda arn: arn.rsplit("/", 1)[1])


def test_submit_time_bounds_are_strict(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    # Given jobs submitted one second apart
    at_0, at_1, at_2 = bedrock.create_jobs(3, start=T0)
    second = timedelta(seconds=1)

    def window(**query: Any) -> list[str]:
        return arns(bedrock_client.list_model_invocation_jobs(sortOrder="Ascending", **query)["invocationJobSummaries"])

    # Then a job submitted exactly at a bound is left out
    assert window(submitTimeAfter=T0 + second) == [at_2]
    assert window(submitTimeBefore=T0 + second) == [at_0]
    assert window(submitTimeAfter=T0, submitTimeBefore=T0 + 2 * second) == [at_1]
    assert window(submitTimeAfter=T0 + second, submitTimeBefore=T0 + second) == []
    assert window(submitTimeAfter=T0 + second / 2) == [at_1, at_2]
    assert window(submitTimeAfter=T0 - timedelta(microseconds=1)) == [at_0, at_1, at_2]
    assert window(submitTimeAfter=T0 + 3 * second, submitTimeBefore=T0) == []


def test_submit_time_bounds_accept_any_time_zone(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    _, late = bedrock.create_jobs(2, start=T0, step=timedelta(hours=1))
    paris = datetime(2025, 3, 1, 13, 30, tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))

    listed = bedrock_client.list_model_invocation_jobs(submitTimeBefore=paris, submitTimeAfter=T0)

    assert arns(listed["invocationJobSummaries"]) == [late]


def test_status_equals_matches_each_status(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    by_status = {status: bedrock.create_job(f"job-{status}", status=status) for status in STATUSES}
    bedrock.create_job("extra-running", status="InProgress")

    for status, arn in by_status.items():
        listed = arns(bedrock_client.list_model_invocation_jobs(statusEquals=status)["invocationJobSummaries"])
        expected = 2 if status == "InProgress" else 1
        assert arn in listed
        assert len(listed) == expected, status


def test_a_status_outside_the_model_becomes_a_valid_filter(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    assert "Archived" in validation_error(bedrock_client, statusEquals="Archived")
    arn = bedrock.create_job("grown-api")

    bedrock.set_status(arn, "Archived")

    assert arns(bedrock_client.list_model_invocation_jobs()["invocationJobSummaries"]) == [arn]
    listed = bedrock_client.list_model_invocation_jobs(statusEquals="Archived")["invocationJobSummaries"]
    assert arns(listed) == [arn]


def test_name_contains_is_a_case_sensitive_substring(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    nightly = bedrock.create_job("nightly-eval-01", submit_time=T0)
    weekly = bedrock.create_job("weekly-eval-02", submit_time=T0 + timedelta(seconds=1))
    bedrock.create_job("Nightly-import", submit_time=T0 + timedelta(seconds=2))

    def named(fragment: str) -> list[str]:
        query = {"nameContains": fragment, "sortOrder": "Ascending"}
        return arns(bedrock_client.list_model_invocation_jobs(**query)["invocationJobSummaries"])

    assert named("eval") == [nightly, weekly]
    assert named("nightly") == [nightly]
    assert named("02") == [weekly]
    assert named("monthly") == []


def test_filters_combine(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    jobs = bedrock.create_jobs(40, start=T0, name_prefix="combo")
    for arn in jobs[::2]:
        bedrock.set_status(arn, "InProgress")
    query = {
        "submitTimeAfter": T0 + timedelta(seconds=9),
        "submitTimeBefore": T0 + timedelta(seconds=30),
        "statusEquals": "InProgress",
        "nameContains": "combo-00001",
        "sortOrder": "Ascending",
        "maxResults": 2,
    }

    listed, pages = list_all(bedrock_client, **query)

    assert arns(listed) == [jobs[10], jobs[12], jobs[14], jobs[16], jobs[18]]
    assert pages == 3


@pytest.mark.parametrize("count", [1, 999, 1000, 1001, 2500])
@pytest.mark.parametrize("page_size", [1000, 97])
@pytest.mark.parametrize("order", ["Ascending", "Descending"])
def test_pages_cover_every_job_exactly_once(
    bedrock: BedrockEmulator, bedrock_client: Any, count: int, page_size: int, order: str
) -> None:
    # Given jobs submitted one second apart
    created = bedrock.create_jobs(count, start=T0)

    # When every page is read
    summaries: list[dict[str, Any]] = []
    sizes = []
    query: dict[str, Any] = {"maxResults": page_size, "sortOrder": order}
    while True:
        page = bedrock_client.list_model_invocation_jobs(**query)
        sizes.append(len(page["invocationJobSummaries"]))
        summaries.extend(page["invocationJobSummaries"])
        if "nextToken" not in page:
            break
        query["nextToken"] = page["nextToken"]

    # Then pages are full but the last, there is no empty trailing page, and order holds throughout
    pages = math.ceil(count / page_size)
    assert sizes == [page_size] * (pages - 1) + [count - page_size * (pages - 1)]
    assert arns(summaries) == (created if order == "Ascending" else created[::-1])


def test_max_results_defaults_to_1000(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    created = bedrock.create_jobs(1001, start=T0)

    first = bedrock_client.list_model_invocation_jobs()
    rest = bedrock_client.list_model_invocation_jobs(nextToken=first["nextToken"])

    assert len(first["invocationJobSummaries"]) == 1000
    assert arns(rest["invocationJobSummaries"]) == [created[0]]
    assert "nextToken" not in rest


def test_max_results_of_one_walks_job_by_job(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    created = bedrock.create_jobs(5, start=T0)

    listed, pages = list_all(bedrock_client, maxResults=1)

    assert arns(listed) == created[::-1]
    assert pages == 5


def test_the_paginator_reads_every_page(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    created = bedrock.create_jobs(250, start=T0)
    paginator = bedrock_client.get_paginator("list_model_invocation_jobs")

    pages = list(paginator.paginate(sortOrder="Ascending", PaginationConfig={"PageSize": 100}))

    assert [len(page["invocationJobSummaries"]) for page in pages] == [100, 100, 50]
    assert [job["jobArn"] for page in pages for job in page["invocationJobSummaries"]] == created


@pytest.mark.parametrize("seed", range(6))
def test_paging_loses_and_repeats_nothing_while_jobs_change(
    bedrock: BedrockEmulator, bedrock_client: Any, seed: int
) -> None:
    # Given 200 jobs and a query over some of them
    rng = random.Random(seed)
    bedrock.set_now(T0 + timedelta(hours=1))
    created = bedrock.create_jobs(200, start=T0, step=timedelta(seconds=10))
    for arn in created:
        bedrock.set_status(arn, rng.choice(["InProgress", "Completed"]))
    query: dict[str, Any] = {"maxResults": 13, "sortOrder": rng.choice(["Ascending", "Descending"])}
    if seed % 2:
        query["statusEquals"] = "InProgress"
    if seed % 3 == 0:
        query["submitTimeAfter"] = T0 + timedelta(seconds=205)

    def matches(arn: str) -> bool:
        job = bedrock.job(arn)
        return ("statusEquals" not in query or job["status"] == query["statusEquals"]) and (
            "submitTimeAfter" not in query or job["submitTime"] > query["submitTimeAfter"]
        )

    throughout = {arn for arn in created if matches(arn)}

    # When jobs are created, restarted, finished and deleted between pages
    seen: list[str] = []
    while True:
        page = bedrock_client.list_model_invocation_jobs(**query)
        seen.extend(arns(page["invocationJobSummaries"]))
        if "nextToken" not in page:
            break
        query["nextToken"] = page["nextToken"]
        bedrock.advance(timedelta(seconds=1))
        bedrock.create_job("late-arrival")
        bedrock.create_job("backdated", submit_time=T0 + timedelta(seconds=rng.randrange(2000)))
        for _ in range(4):
            changed = rng.choice(created)
            if changed in throughout:
                throughout.discard(changed)
            if rng.random() < 0.1:
                bedrock.delete_job(changed)
                created.remove(changed)
            else:
                bedrock.set_status(changed, rng.choice(["InProgress", "Completed", "Stopping"]))

    # Then every job that matched throughout came exactly once, and no job came twice
    assert len(seen) == len(set(seen))
    assert throughout <= set(seen)
    assert len(throughout) > 20


def test_concurrent_readers_page_consistently_while_statuses_change(
    bedrock: BedrockEmulator, bedrock_client: Any
) -> None:
    # Given 500 jobs
    created = bedrock.create_jobs(500, start=T0)

    # When eight readers page through them at once while their statuses keep changing
    def read_all(_: int) -> list[str]:
        return arns(list_all(bedrock_client, maxResults=50, sortOrder="Ascending")[0])

    with ThreadPoolExecutor(max_workers=8) as pool:
        readers = [pool.submit(read_all, reader) for reader in range(8)]
        for index, arn in enumerate(created * 2):
            bedrock.set_status(arn, STATUSES[index % len(STATUSES)])
        listings = [reader.result() for reader in readers]

    # Then each reader saw every job once, in order
    assert listings == [created] * 8


def test_a_token_belongs_to_its_query(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    bedrock.create_jobs(30, start=T0, status="InProgress")
    query = {"statusEquals": "InProgress", "submitTimeAfter": T0 - timedelta(days=1), "maxResults": 10}
    token = bedrock_client.list_model_invocation_jobs(**query)["nextToken"]

    other_queries = [
        {**query, "statusEquals": "Completed"},
        {**query, "submitTimeAfter": T0 - timedelta(days=2)},
        {**query, "sortOrder": "Ascending"},
        {**query, "nameContains": "job"},
        {key: value for key, value in query.items() if key != "statusEquals"},
    ]
    for other in other_queries:
        assert "different query" in validation_error(bedrock_client, **other, nextToken=token)

    # The page size may change between pages.
    resized = bedrock_client.list_model_invocation_jobs(**{**query, "maxResults": 25}, nextToken=token)
    assert len(resized["invocationJobSummaries"]) == 20


@pytest.mark.parametrize("token", ["garbage", "e30", "WyJub3QtYS10aW1lIiwgIngiLCAieSJd"])
def test_a_malformed_token_is_rejected(bedrock: BedrockEmulator, bedrock_client: Any, token: str) -> None:
    assert "nextToken" in validation_error(bedrock_client, nextToken=token)


@pytest.mark.parametrize(
    ("query", "member"),
    [
        ({"maxResults": 0}, "maxResults"),
        ({"maxResults": 1001}, "maxResults"),
        ({"statusEquals": "Running"}, "statusEquals"),
        ({"statusEquals": "completed"}, "statusEquals"),
        ({"sortBy": "Name"}, "sortBy"),
        ({"sortOrder": "Up"}, "sortOrder"),
        ({"nameContains": ""}, "nameContains"),
    ],
)
def test_bad_query_values_are_validation_errors(unvalidated_client: Any, query: dict[str, Any], member: str) -> None:
    assert member in validation_error(unvalidated_client, **query)


@pytest.mark.parametrize(
    ("member", "value"),
    [("submitTimeAfter", "yesterday"), ("submitTimeBefore", "2025-13-01T00:00:00Z"), ("maxResults", "ten")],
)
def test_unparseable_query_values_are_validation_errors(bedrock_client: Any, member: str, value: str) -> None:
    # botocore will not send these, so the request's URL is rewritten on its way out.
    def rewrite(params: dict[str, Any], **_: Any) -> None:
        url = urlsplit(params["url"])
        query = {**dict(parse_qsl(url.query)), member: value}
        params["url"] = urlunsplit(url._replace(query=urlencode(query)))

    bedrock_client.meta.events.register("before-call.bedrock.ListModelInvocationJobs", rewrite)

    assert member in validation_error(bedrock_client, submitTimeAfter=T0, submitTimeBefore=T0, maxResults=5)


def test_summaries_carry_every_required_member(bedrock: BedrockEmulator, bedrock_client: Any) -> None:
    # Given jobs in every status, some with counts, messages and a VPC
    for index, status in enumerate(STATUSES):
        arn = bedrock.create_job(f"shape-{index}", vpcConfig={"subnetIds": ["s-1"], "securityGroupIds": ["g-1"]})
        bedrock.set_status(arn, status, message=f"now {status}", records={"total": 4, "processed": 2})
    bedrock.create_job("bare")
    operation = bedrock_client.meta.service_model.operation_model("ListModelInvocationJobs")

    # When they are listed through boto3 and as raw JSON
    parsed = bedrock_client.list_model_invocation_jobs()
    with urllib.request.urlopen(f"{bedrock.url}/model-invocation-jobs") as response:  # noqa: S310
        raw = json.load(response)

    # Then both match the model
    assert len(parsed["invocationJobSummaries"]) == len(STATUSES) + 1
    assert_matches_shape(parsed, operation.output_shape)
    assert_matches_shape(raw, operation.output_shape, wire=True)
    assert all(isinstance(job["lastModifiedTime"], datetime) for job in parsed["invocationJobSummaries"])


def test_an_empty_account_lists_nothing(bedrock_client: Any) -> None:
    page = bedrock_client.list_model_invocation_jobs(statusEquals="InProgress")

    assert page["invocationJobSummaries"] == []
    assert "nextToken" not in page


def test_a_page_of_a_thousand_from_ten_thousand_holds_just_what_it_should(
    bedrock: BedrockEmulator, bedrock_client: Any
) -> None:
    # Given ten thousand jobs, a tenth of them running
    created = bedrock.create_jobs(10_000, start=T0)
    for arn in created[::10]:
        bedrock.set_status(arn, "InProgress")

    # When a full page and a narrow window are read
    with urllib.request.urlopen(f"{bedrock.url}/model-invocation-jobs?maxResults=1000") as response:  # noqa: S310
        full = json.load(response)
    window = bedrock_client.list_model_invocation_jobs(
        submitTimeAfter=T0 + timedelta(seconds=8999), statusEquals="InProgress", sortOrder="Ascending"
    )

    # Then the page is full and the window holds just what it should (speed is make bench's business)
    assert len(full["invocationJobSummaries"]) == 1000
    assert arns(window["invocationJobSummaries"]) == created[9000::10]
