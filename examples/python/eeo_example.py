#!/usr/bin/python3
"""An eeo-gateway client in Python, written from the README and proto/ only.

It gets an EEO access token, uploads a CSV file as a CreateImport client
stream and follows the import to its end, runs a report and downloads it
(checking its SHA-256), and shows how a failure's google.rpc.ErrorInfo
reads. Runs on Debian's python3-grpcio and python3-protobuf with the stubs
that `make generate` writes to gen/python:

    PYTHONPATH=gen/python EEO_KEY=dev-... \\
        python3 examples/python/eeo_example.py --csv examples/python/people.csv
"""

import argparse
import hashlib
import os
import sys
import uuid

import grpc
from google.rpc import error_details_pb2, status_pb2

from eeo.v1 import import_report_service_pb2 as files_pb
from eeo.v1 import import_report_service_pb2_grpc as files_grpc
from eeo.v1 import token_service_pb2 as tokens_pb
from eeo.v1 import token_service_pb2_grpc as tokens_grpc

CHUNK_SIZE = 256 * 1024  # CreateImport chunks; up to 1 MiB each is sensible
ERROR_DOMAIN = "eeo-gateway.github.io"  # the gateway's ErrorInfo domain


class GatewayError(Exception):
    """A failed call, with the google.rpc.Status details the gateway sends.

    Branch on (domain, reason), never on the message.
    """

    def __init__(self, err: grpc.RpcError):
        self.code = err.code()
        self.message = err.details()
        self.reason, self.domain, self.metadata = "", "", {}
        self.retry_after = None  # seconds, when the gateway says to retry
        self.field_violations = []  # (field, description) for INVALID_ARGUMENT
        for key, value in err.trailing_metadata() or ():
            if key != "grpc-status-details-bin":
                continue
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                retry = error_details_pb2.RetryInfo()
                bad = error_details_pb2.BadRequest()
                if detail.Unpack(info):
                    self.reason, self.domain = info.reason, info.domain
                    self.metadata = dict(info.metadata)
                elif detail.Unpack(retry):
                    delay = retry.retry_delay
                    self.retry_after = delay.seconds + delay.nanos / 1e9
                elif detail.Unpack(bad):
                    self.field_violations = [(v.field, v.description) for v in bad.field_violations]
        super().__init__(str(self))

    def __str__(self):
        s = f"{self.code.name} {self.reason} (domain {self.domain}): {self.message}"
        if self.retry_after is not None:
            s += f"; retry after {self.retry_after:g}s"
        for field, description in self.field_violations:
            s += f"; {field}: {description}"
        return s


def call(method, request, metadata):
    """Calls a unary method, raising GatewayError on failure."""
    try:
        return method(request, metadata=metadata)
    except grpc.RpcError as err:
        raise GatewayError(err) from None


def upload_requests(account, path, sha256, size):
    """The CreateImport stream: metadata first, then the file in chunks."""
    yield files_pb.CreateImportRequest(
        metadata=files_pb.ImportMetadata(
            account=account,
            import_type="participants",
            file_name=os.path.basename(path),
            content_type="text/csv",
            request_id=str(uuid.uuid4()),  # a retry with this id cannot import twice
            expected_sha256=sha256,
            size_bytes=size,
        )
    )
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            yield files_pb.CreateImportRequest(chunk=chunk)


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            h.update(chunk)
    return h.hexdigest()


def run(args):
    auth = (("authorization", "Bearer " + args.key),)
    channel = grpc.secure_channel(args.addr, grpc.ssl_channel_credentials()) if args.tls else grpc.insecure_channel(args.addr)
    with channel:
        tokens = tokens_grpc.TokenServiceStub(channel)
        files = files_grpc.ImportReportServiceStub(channel)

        # 1. A token, for a service that calls EEO itself. Never log
        # access_token; the fingerprint is safe to log.
        token = call(tokens.GetToken, tokens_pb.GetTokenRequest(account=args.account), auth).token
        print(f"token: account={token.account} type={token.token_type} fingerprint={token.fingerprint} "
              f"expires={token.expire_time.ToJsonString()}")

        # 2. Upload a CSV as a client stream, then follow the import.
        size, sha256 = os.path.getsize(args.csv), file_sha256(args.csv)
        try:
            created = files.CreateImport(upload_requests(args.account, args.csv, sha256, size), metadata=auth)
        except grpc.RpcError as err:
            raise GatewayError(err) from None
        data_import = created.data_import
        print(f"import: id={data_import.import_id} state={files_pb.ImportState.Name(data_import.state)} "
              f"size_bytes={data_import.size_bytes} sha256={data_import.sha256}")
        try:
            for change in files.WatchImport(
                files_pb.WatchImportRequest(account=args.account, import_id=data_import.import_id), metadata=auth
            ):
                data_import = change.data_import
        except grpc.RpcError as err:
            raise GatewayError(err) from None
        print(f"import: {files_pb.ImportState.Name(data_import.state)} row_count={data_import.row_count} "
              f"accepted_row_count={data_import.accepted_row_count} rejected_row_count={data_import.rejected_row_count}")

        # 3. A report: create it, wait for it, download it and check it.
        report = call(
            files.CreateReport,
            files_pb.CreateReportRequest(
                account=args.account,
                report_type="grants",
                parameters={"as_of": "2026-01-31", "rows": "5"},
                format=files_pb.REPORT_FORMAT_CSV,
                request_id=str(uuid.uuid4()),
            ),
            auth,
        ).report
        try:
            for change in files.WatchReport(
                files_pb.WatchReportRequest(account=args.account, report_id=report.report_id), metadata=auth
            ):
                report = change.report
        except grpc.RpcError as err:
            raise GatewayError(err) from None
        print(f"report: id={report.report_id} state={files_pb.ReportState.Name(report.state)}")
        if report.state != files_pb.REPORT_STATE_SUCCEEDED:
            raise SystemExit(f"report ended {files_pb.ReportState.Name(report.state)}")
        digest, written = hashlib.sha256(), 0
        try:
            with open(args.out, "wb") as out:
                for body in files.DownloadReport(
                    files_pb.DownloadReportRequest(account=args.account, report_id=report.report_id), metadata=auth
                ):
                    out.write(body.data)
                    digest.update(body.data)
                    written += len(body.data)
        except grpc.RpcError as err:
            raise GatewayError(err) from None  # DATA_LOSS if the bytes did not match
        if digest.hexdigest() != report.sha256 or written != report.size_bytes:
            raise SystemExit(f"download: {written} bytes, sha256 {digest.hexdigest()}; want {report.size_bytes}, {report.sha256}")
        print(f"download: {args.out} {written} bytes sha256 ok")

        # 4. What a failure looks like: an import that does not exist.
        try:
            call(files.GetImport, files_pb.GetImportRequest(account=args.account, import_id="imp_does_not_exist"), auth)
        except GatewayError as err:
            if err.domain == ERROR_DOMAIN and err.reason == "IMPORT_NOT_FOUND":
                print(f"error, decoded: {err}")
            else:
                raise


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--addr", default=os.environ.get("EEO_ADDR", "127.0.0.1:9090"), help="the gateway's gRPC address")
    p.add_argument("--key", default=os.environ.get("EEO_KEY", ""), help="API key or JWT (default $EEO_KEY)")
    p.add_argument("--tls", action="store_true", help="TLS, verified against the system's CAs")
    p.add_argument("--account", default="demo")
    p.add_argument("--csv", required=True, help="a participants CSV file to import")
    p.add_argument("--out", default="grants.csv", help="where to write the report")
    args = p.parse_args()
    try:
        run(args)
    except GatewayError as err:
        print(f"eeo_example: {err}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
