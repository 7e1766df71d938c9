"""PII minimisation: CPF validity and masking, salted email hash."""

from __future__ import annotations

import hashlib

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from orders_lakehouse.transforms import pii


def test_cpf_validity_and_mask(spark: SparkSession) -> None:
    docs = [
        "529.982.247-25",
        "11144477735",
        "123.456.789-00",
        "111.111.111-11",
        "5299822472",
        "529982247-25",
        None,
    ]
    df = spark.createDataFrame([(d,) for d in docs], "doc string")
    got = [
        tuple(r)
        for r in df.select("doc", pii.cpf_is_valid(F.col("doc")), pii.mask_cpf(F.col("doc"))).collect()
    ]
    assert got == [
        ("529.982.247-25", True, "***.982.247-**"),
        ("11144477735", True, "***.444.777-**"),
        ("123.456.789-00", False, "***.456.789-**"),
        ("111.111.111-11", False, "***.111.111-**"),
        ("5299822472", False, None),
        ("529982247-25", False, "***.982.247-**"),
        (None, None, None),
    ]


def test_email_hash_is_salted_sha256_of_normalised_email(spark: SparkSession) -> None:
    df = spark.createDataFrame([(" Ana.Souza@Example.com ",), ("not-an-email",), (None,)], "email string")
    got = [
        tuple(r)
        for r in df.select(pii.email_hash(F.col("email"), "s3"), pii.email_is_valid(F.col("email"))).collect()
    ]
    assert got == [
        (hashlib.sha256(b"s3ana.souza@example.com").hexdigest(), True),
        (hashlib.sha256(b"s3not-an-email").hexdigest(), False),
        (None, None),
    ]
