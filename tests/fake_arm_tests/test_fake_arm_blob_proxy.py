"""The blob proxy serves <account>.blob.<suffix> over TLS from the fake's CA, and refuses every other host."""

from __future__ import annotations

import pytest
import requests
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

KEY = "ZmFrZS1hY2NvdW50LWtleQ=="


def _service(fake_arm, **kwargs):
    return BlobServiceClient(
        f"https://acct.blob.{fake_arm.storage_suffix}",
        credential={"account_name": "acct", "account_key": KEY},
        proxies={"https": fake_arm.proxy_url},
        connection_verify=fake_arm.ca_bundle,
        retry_total=0,
        **kwargs,
    )


def test_a_blob_is_stored_with_its_metadata_and_recorded(fake_arm):
    blob = _service(fake_arm).get_blob_client("c1", "dir/model.bin")
    with pytest.raises(ResourceNotFoundError):
        blob.get_blob_properties()

    blob.upload_blob(b"weights", overwrite=False, validate_content=True)
    blob.set_blob_metadata({"upload_status": "completed"})

    with pytest.raises(ResourceExistsError):
        blob.upload_blob(b"again", overwrite=False)
    props = blob.get_blob_properties()
    assert (props.size, props.metadata) == (7, {"upload_status": "completed"})
    assert blob.download_blob().readall() == b"weights"
    [upload] = fake_arm.blob_uploads()
    assert (upload.account, upload.container, upload.name, upload.data) == ("acct", "c1", "dir/model.bin", b"weights")


def test_a_large_blob_goes_up_in_blocks_and_is_committed_once(fake_arm):
    data = bytes(range(256)) * 40
    blob = _service(fake_arm, max_single_put_size=1024, max_block_size=1024).get_blob_client("c1", "big.bin")

    blob.upload_blob(data)

    assert [u.data for u in fake_arm.blob_uploads()] == [data]
    assert {c.query.get("comp") for c in fake_arm.blob_calls()} == {"block", "blocklist"}


def test_other_hosts_are_refused_without_connecting_anywhere(fake_arm):
    proxies = {"https": fake_arm.proxy_url, "http": fake_arm.proxy_url}
    for url in ("https://management.azure.com/", "https://acct.blob.example.com/"):
        with pytest.raises(requests.exceptions.ProxyError, match="403"):
            requests.get(url, proxies=proxies, timeout=5)
    assert requests.get("http://example.com/", proxies=proxies, timeout=5).status_code == 403
    assert [(c.host, c.status) for c in fake_arm.blob_calls()] == [
        ("management.azure.com", 403),
        ("acct.blob.example.com", 403),
        ("example.com", 403),
    ]
    assert fake_arm.blob_uploads() == []
