"""Option parsing of the Auto Loader emulation: no Spark needed."""

import logging

import pytest

from localdlt.sources.cloud_files_options import parse_options
from localdlt.sources.errors import CloudFilesOptionError


def test_missing_format_names_the_option() -> None:
    with pytest.raises(CloudFilesOptionError) as caught:
        parse_options({"header": "true"})
    assert str(caught.value) == (
        "[CLOUD_FILES_INVALID_OPTION] option 'cloudFiles.format' is required "
        "(one of: json, csv, parquet, text)"
    )
    assert caught.value.params == {"option": "cloudFiles.format"}


def test_unknown_format_lists_the_allowed_ones() -> None:
    with pytest.raises(CloudFilesOptionError) as caught:
        parse_options({"cloudFiles.format": "avro"})
    assert str(caught.value) == (
        "[CLOUD_FILES_INVALID_OPTION] option 'cloudFiles.format' is 'avro'; "
        "the local emulation supports: json, csv, parquet, text"
    )
    assert caught.value.params["allowed"] == ["json", "csv", "parquet", "text"]


def test_defaults_match_auto_loader() -> None:
    parsed = parse_options(
        {"cloudFiles.format": "JSON", "multiLine": "true", "cloudFiles.schemaLocation": "/x"}
    )
    assert parsed.format == "json"
    assert parsed.infer_column_types is False
    assert parsed.include_existing_files is True
    assert parsed.max_files_per_trigger == 1000
    assert parsed.max_bytes_per_trigger is None
    assert parsed.rescued_data_column is None
    # Plain reader options pass through; cloudFiles.* never reach the open-source reader.
    assert parsed.reader_options == {"multiLine": "true"}


def test_keys_are_case_insensitive_like_spark_options() -> None:
    parsed = parse_options(
        {
            "cloudfiles.FORMAT": "csv",
            "CLOUDFILES.maxfilespertrigger": "7",
            "cloudFiles.IncludeExistingFiles": "FALSE",
            "rescueddatacolumn": "_bad",
        }
    )
    assert (parsed.format, parsed.max_files_per_trigger, parsed.include_existing_files) == ("csv", 7, False)
    assert parsed.rescued_data_column == "_bad"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"cloudFiles.inferColumnTypes": "yes"},
            "[CLOUD_FILES_INVALID_OPTION] option 'cloudFiles.inferColumnTypes' must be true or false",
        ),
        (
            {"cloudFiles.maxFilesPerTrigger": "0"},
            "[CLOUD_FILES_INVALID_OPTION] option 'cloudFiles.maxFilesPerTrigger' must be a positive integer",
        ),
        (
            {"cloudFiles.maxFilesPerTrigger": "5", "cloudFiles.maxBytesPerTrigger": "10m"},
            "[CLOUD_FILES_INVALID_OPTION] options 'cloudFiles.maxFilesPerTrigger' and "
            "'cloudFiles.maxBytesPerTrigger' cannot be combined locally (the open-source file source "
            "accepts only one of them)",
        ),
    ],
)
def test_bad_values_are_named(options: dict[str, str], message: str) -> None:
    with pytest.raises(CloudFilesOptionError) as caught:
        parse_options({"cloudFiles.format": "json", **options})
    assert str(caught.value) == message


def test_max_bytes_alone_drops_the_default_file_limit() -> None:
    parsed = parse_options({"cloudFiles.format": "json", "cloudFiles.maxBytesPerTrigger": "10m"})
    assert (parsed.max_files_per_trigger, parsed.max_bytes_per_trigger) == (None, "10m")


def test_options_without_local_meaning_are_accepted_and_unknown_ones_warned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="localdlt.sources.cloud_files_options"):
        parsed = parse_options(
            {
                "cloudFiles.format": "json",
                "cloudFiles.schemaLocation": "/chk/schema",
                "cloudFiles.useNotifications": "false",
                "cloudFiles.queueUrl": "https://secret-queue",
            }
        )
    assert parsed.reader_options == {}
    assert [r.getMessage() for r in caplog.records] == [
        "Auto Loader option 'cloudFiles.queueUrl' is not emulated locally and is ignored"
    ]
