-- DynamoDB DescribeLimits: the cheapest JSON call (no state)
wrk.method = "POST"
wrk.path = "/"
wrk.headers["X-Amz-Target"] = "DynamoDB_20120810.DescribeLimits"
wrk.headers["Content-Type"] = "application/x-amz-json-1.0"
wrk.headers["X-Amz-Date"] = "20261126T100000Z"
wrk.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261126/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
wrk.body = "{}"
