"""DynamoDB and DynamoDB Streams against the real daemon with boto3 (client and resource APIs,
conditions, the batch writer) and the aws CLI: tables, items, expressions, query and scan
pagination, batches, transactions, streams, TTL, concurrency, restart and kill -9."""
import concurrent.futures
import threading
import time
import unittest
from decimal import Decimal

import botocore.exceptions
from boto3.dynamodb.conditions import Attr, Key

import harness
from harness import Daemon


def error(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except botocore.exceptions.ClientError as e:
        return e.response
    raise AssertionError("expected a ClientError")


def key_schema(hash_name, range_name=None):
    ks = [{"AttributeName": hash_name, "KeyType": "HASH"}]
    if range_name:
        ks.append({"AttributeName": range_name, "KeyType": "RANGE"})
    return ks


class DynamoDB(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(in_memory=True).start()
        cls.ddb = cls.d.client("dynamodb")
        cls.res = cls.d.resource("dynamodb")
        cls.streams = cls.d.client("dynamodbstreams")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def make_table(self, name, hash_type="S", range_type="S", **extra):
        defs = [{"AttributeName": "pk", "AttributeType": hash_type}]
        if range_type:
            defs.append({"AttributeName": "sk", "AttributeType": range_type})
        defs += extra.pop("more_definitions", [])
        self.ddb.create_table(TableName=name, KeySchema=key_schema("pk", "sk" if range_type else None),
                              AttributeDefinitions=defs, BillingMode="PAY_PER_REQUEST", **extra)
        return self.res.Table(name)

    # -- tables ----------------------------------------------------------------------------

    def test_table_lifecycle_and_errors(self):
        created = self.ddb.create_table(TableName="lifecycle", KeySchema=key_schema("pk"),
                                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                                        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
                                        Tags=[{"Key": "team", "Value": "shop"}])["TableDescription"]
        self.assertTrue(created["TableArn"].endswith(":table/lifecycle"))
        self.ddb.get_waiter("table_exists").wait(TableName="lifecycle", WaiterConfig={"Delay": 0.05})
        desc = self.ddb.describe_table(TableName="lifecycle")["Table"]
        self.assertEqual(desc["TableStatus"], "ACTIVE")
        self.assertEqual(desc["ProvisionedThroughput"]["ReadCapacityUnits"], 5)
        e = error(self.ddb.create_table, TableName="lifecycle", KeySchema=key_schema("pk"),
                  AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        self.assertEqual(e["Error"]["Code"], "ResourceInUseException")
        self.assertIn("lifecycle", self.ddb.list_tables()["TableNames"])
        tags = self.ddb.list_tags_of_resource(ResourceArn=desc["TableArn"])["Tags"]
        self.assertEqual(tags, [{"Key": "team", "Value": "shop"}])
        self.ddb.tag_resource(ResourceArn=desc["TableArn"], Tags=[{"Key": "env", "Value": "dev"}])
        self.ddb.untag_resource(ResourceArn=desc["TableArn"], TagKeys=["team"])
        self.assertEqual(self.ddb.list_tags_of_resource(ResourceArn=desc["TableArn"])["Tags"],
                         [{"Key": "env", "Value": "dev"}])
        self.ddb.update_table(TableName="lifecycle", BillingMode="PAY_PER_REQUEST")
        self.assertEqual(self.ddb.describe_table(TableName="lifecycle")["Table"]["BillingModeSummary"]["BillingMode"],
                         "PAY_PER_REQUEST")
        self.assertEqual(self.ddb.delete_table(TableName="lifecycle")["TableDescription"]["TableStatus"], "DELETING")
        e = error(self.ddb.describe_table, TableName="lifecycle")
        self.assertEqual(e["Error"]["Code"], "ResourceNotFoundException")
        self.assertEqual(e["Error"]["Message"], "Requested resource not found: Table: lifecycle not found")

    def test_create_table_validation(self):
        e = error(self.ddb.create_table, TableName="badkeys", KeySchema=key_schema("pk"),
                  AttributeDefinitions=[{"AttributeName": "other", "AttributeType": "S"}],
                  BillingMode="PAY_PER_REQUEST")
        self.assertEqual(e["Error"]["Code"], "ValidationException")
        self.assertIn("Some index key attributes are not defined in AttributeDefinitions", e["Error"]["Message"])
        e = error(self.ddb.create_table, TableName="nothroughput", KeySchema=key_schema("pk"),
                  AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
        self.assertIn("ReadCapacityUnits and WriteCapacityUnits must both be specified", e["Error"]["Message"])

    def test_list_tables_paginates(self):
        for i in range(5):
            self.make_table(f"page-{i}", range_type=None)
        names = []
        for page in self.ddb.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": 2}):
            self.assertLessEqual(len(page["TableNames"]), 2)
            names += page["TableNames"]
        self.assertEqual([n for n in names if n.startswith("page-")], [f"page-{i}" for i in range(5)])
        self.assertEqual(names, sorted(names))

    def test_describe_endpoints_and_limits(self):
        self.assertEqual(self.ddb.describe_limits()["TableMaxReadCapacityUnits"], 40000)
        self.assertTrue(self.ddb.describe_endpoints()["Endpoints"][0]["Address"])

    # -- items -----------------------------------------------------------------------------

    def test_item_round_trip_with_every_type(self):
        table = self.make_table("types")
        item = {"pk": "a", "sk": "b", "s": "text", "n": Decimal("12.500"), "big": Decimal("1" * 38),
                "bin": b"\x00\x01", "t": True, "nil": None, "m": {"x": [1, "two", {"y": False}]},
                "ss": {"p", "q"}, "ns": {Decimal(1), Decimal("2.5")}, "bs": {b"a", b"b"}, "empty": ""}
        table.put_item(Item=item)
        got = table.get_item(Key={"pk": "a", "sk": "b"}, ConsistentRead=True)["Item"]
        self.assertEqual(got["n"], Decimal("12.5"))
        self.assertEqual(got["big"], Decimal("1" * 38))
        self.assertEqual(got["bin"].value, b"\x00\x01")
        self.assertEqual(got["m"], {"x": [1, "two", {"y": False}]})
        self.assertEqual(got["ss"], {"p", "q"})
        self.assertEqual(got["ns"], {Decimal(1), Decimal("2.5")})
        self.assertIsNone(got["nil"])
        raw = self.ddb.get_item(TableName="types", Key={"pk": {"S": "a"}, "sk": {"S": "b"}},
                                ProjectionExpression="n, m.x[1]")["Item"]
        self.assertEqual(raw, {"n": {"N": "12.5"}, "m": {"M": {"x": {"L": [{"S": "two"}]}}}})

    def test_item_validation_messages(self):
        self.make_table("checks")
        cases = [
            ({"pk": {"S": "a"}}, "One or more parameter values were invalid: Missing the key sk in the item"),
            ({"pk": {"N": "1"}, "sk": {"S": "x"}},
             "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N"),
            ({"pk": {"S": ""}, "sk": {"S": "x"}},
             "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an "
             "empty string value. Key: pk"),
            ({"pk": {"S": "a"}, "sk": {"S": "x"}, "s": {"SS": []}},
             "One or more parameter values were invalid: An string set  may not be empty"),
            ({"pk": {"S": "a"}, "sk": {"S": "x"}, "s": {"SS": ["d", "d"]}},
             "One or more parameter values were invalid: Input collection [d, d] contains duplicates."),
            ({"pk": {"S": "a"}, "sk": {"S": "x"}, "n": {"N": "1" * 39}},
             "Attempting to store more than 38 significant digits in a Number"),
            ({"pk": {"S": "a"}, "sk": {"S": "x"}, "big": {"S": "x" * 400 * 1024}},
             "Item size has exceeded the maximum allowed size"),
        ]
        for item, message in cases:
            e = error(self.ddb.put_item, TableName="checks", Item=item)
            self.assertEqual((e["Error"]["Code"], e["Error"]["Message"]), ("ValidationException", message))
        e = error(self.ddb.get_item, TableName="checks", Key={"pk": {"S": "a"}})
        self.assertEqual(e["Error"]["Message"], "The provided key element does not match the schema")
        e = error(self.ddb.get_item, TableName="missing-table", Key={"pk": {"S": "a"}})
        self.assertEqual(e["Error"]["Code"], "ResourceNotFoundException")

    def test_conditions_and_return_values(self):
        table = self.make_table("cond")
        table.put_item(Item={"pk": "u", "sk": "1", "v": 1, "tags": {"a"}})
        e = error(table.put_item, Item={"pk": "u", "sk": "1"}, ConditionExpression=Attr("pk").not_exists(),
                  ReturnValuesOnConditionCheckFailure="ALL_OLD")
        self.assertEqual(e["Error"]["Code"], "ConditionalCheckFailedException")
        self.assertEqual(e["Item"]["v"], {"N": "1"})
        old = table.put_item(Item={"pk": "u", "sk": "1", "v": 2}, ConditionExpression=Attr("v").eq(1) & Attr("tags").contains("a"),
                             ReturnValues="ALL_OLD")["Attributes"]
        self.assertEqual(old["v"], 1)
        e = error(table.delete_item, Key={"pk": "u", "sk": "1"}, ConditionExpression=Attr("v").gt(5))
        self.assertEqual(e["Error"]["Message"], "The conditional request failed")
        gone = table.delete_item(Key={"pk": "u", "sk": "1"}, ReturnValues="ALL_OLD")["Attributes"]
        self.assertEqual(gone["v"], 2)
        self.assertNotIn("Item", table.get_item(Key={"pk": "u", "sk": "1"}))
        e = error(self.ddb.put_item, TableName="cond", Item={"pk": {"S": "a"}, "sk": {"S": "b"}},
                  ConditionExpression="#n = :v", ExpressionAttributeNames={"#n": "x", "#unused": "y"},
                  ExpressionAttributeValues={":v": {"S": "1"}})
        self.assertEqual(e["Error"]["Message"],
                         "Value provided in ExpressionAttributeNames unused in expressions: keys: {#unused}")
        e = error(self.ddb.put_item, TableName="cond", Item={"pk": {"S": "a"}, "sk": {"S": "b"}},
                  ConditionExpression="name = :v", ExpressionAttributeValues={":v": {"S": "1"}})
        self.assertEqual(e["Error"]["Message"],
                         "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: name")

    def test_update_expressions(self):
        table = self.make_table("upd")
        out = table.update_item(
            Key={"pk": "p", "sk": "s"},
            UpdateExpression="SET c = if_not_exists(c, :zero) + :one, l = list_append(if_not_exists(l, :e), :l), "
                             "m = :m ADD tags :t, amount :five",
            ExpressionAttributeValues={":zero": 0, ":one": 1, ":e": [], ":l": ["x", "y"], ":m": {"a": {"b": 1}},
                                       ":t": {"red"}, ":five": 5},
            ReturnValues="ALL_NEW")["Attributes"]
        self.assertEqual((out["c"], out["l"], out["tags"], out["amount"]), (1, ["x", "y"], {"red"}, 5))
        out = table.update_item(Key={"pk": "p", "sk": "s"},
                                UpdateExpression="SET m.a.b = m.a.b - :one, c = c + :one REMOVE l[0] DELETE tags :t",
                                ExpressionAttributeValues={":one": 1, ":t": {"red"}}, ReturnValues="UPDATED_NEW")
        self.assertEqual(out["Attributes"], {"m": {"a": {"b": 0}}, "c": 2})
        item = table.get_item(Key={"pk": "p", "sk": "s"})["Item"]
        self.assertEqual(item["l"], ["y"])
        self.assertNotIn("tags", item)
        e = error(table.update_item, Key={"pk": "p", "sk": "s"}, UpdateExpression="SET pk = :v",
                  ExpressionAttributeValues={":v": "x"})
        self.assertIn("Cannot update attribute pk. This attribute is part of the key", e["Error"]["Message"])
        e = error(table.update_item, Key={"pk": "p", "sk": "s"}, UpdateExpression="SET c = c + :s",
                  ExpressionAttributeValues={":s": "text"})
        self.assertIn("Incorrect operand type for operator or function; operator or function: +", e["Error"]["Message"])
        e = error(table.update_item, Key={"pk": "p", "sk": "s"}, UpdateExpression="SET a = :v, a.b = :v",
                  ExpressionAttributeValues={":v": 1})
        self.assertIn("Two document paths overlap", e["Error"]["Message"])

    def test_legacy_parameters(self):
        self.make_table("legacy")
        self.ddb.put_item(TableName="legacy", Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "v": {"N": "1"}},
                          Expected={"pk": {"Exists": False}})
        e = error(self.ddb.put_item, TableName="legacy", Item={"pk": {"S": "a"}, "sk": {"S": "1"}},
                  Expected={"v": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "5"}]}})
        self.assertEqual(e["Error"]["Code"], "ConditionalCheckFailedException")
        self.ddb.update_item(TableName="legacy", Key={"pk": {"S": "a"}, "sk": {"S": "1"}},
                             AttributeUpdates={"v": {"Action": "ADD", "Value": {"N": "2"}},
                                               "w": {"Action": "PUT", "Value": {"S": "x"}}})
        got = self.ddb.get_item(TableName="legacy", Key={"pk": {"S": "a"}, "sk": {"S": "1"}},
                                AttributesToGet=["v", "w"])["Item"]
        self.assertEqual(got, {"v": {"N": "3"}, "w": {"S": "x"}})
        q = self.ddb.query(TableName="legacy", KeyConditions={
            "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}},
            QueryFilter={"v": {"ComparisonOperator": "GE", "AttributeValueList": [{"N": "3"}]}})
        self.assertEqual(q["Count"], 1)
        e = error(self.ddb.get_item, TableName="legacy", Key={"pk": {"S": "a"}, "sk": {"S": "1"}},
                  AttributesToGet=["v"], ProjectionExpression="v")
        self.assertIn("Can not use both expression and non-expression parameters", e["Error"]["Message"])

    # -- query and scan --------------------------------------------------------------------

    def test_query_orders_filters_and_paginates(self):
        table = self.make_table("orders", range_type="N")
        with table.batch_writer() as batch:
            for i in range(250):
                batch.put_item(Item={"pk": "c1", "sk": i, "odd": i % 2 == 1, "blob": "x" * 10})
            for i in range(5):
                batch.put_item(Item={"pk": "c2", "sk": i})
        r = table.query(KeyConditionExpression=Key("pk").eq("c1") & Key("sk").between(10, 19), ScanIndexForward=False)
        self.assertEqual([i["sk"] for i in r["Items"]], list(range(19, 9, -1)))
        r = table.query(KeyConditionExpression=Key("pk").eq("c1") & Key("sk").lt(100),
                        FilterExpression=Attr("odd").eq(True), Limit=20)
        self.assertEqual((r["Count"], r["ScannedCount"]), (10, 20))
        self.assertEqual(r["LastEvaluatedKey"], {"pk": "c1", "sk": 19})
        seen = []
        for page in self.ddb.get_paginator("query").paginate(
                TableName="orders", KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": {"S": "c1"}}, PaginationConfig={"PageSize": 60}):
            seen += [int(i["sk"]["N"]) for i in page["Items"]]
        self.assertEqual(seen, list(range(250)))
        r = self.ddb.query(TableName="orders", KeyConditionExpression="pk = :p", Select="COUNT",
                           ExpressionAttributeValues={":p": {"S": "c1"}})
        self.assertEqual((r["Count"], "Items" in r), (250, False))
        e = error(table.query, KeyConditionExpression=Key("sk").eq(1))
        self.assertEqual(e["Error"]["Message"], "Query condition missed key schema element: pk")
        e = error(table.query, KeyConditionExpression=Key("pk").eq("c1"), FilterExpression=Attr("sk").eq(1))
        self.assertIn("Filter Expression can only contain non-primary key attributes", e["Error"]["Message"])
        e = error(self.ddb.query, TableName="orders", KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
                  ExpressionAttributeValues={":p": {"S": "c1"}, ":s": {"N": "1"}})
        self.assertIn("begins_with", e["Error"]["Message"])

    def test_query_stops_at_one_megabyte(self):
        table = self.make_table("bigpage")
        with table.batch_writer() as batch:
            for i in range(30):
                batch.put_item(Item={"pk": "p", "sk": f"{i:03d}", "pad": "x" * 100000})
        r = table.query(KeyConditionExpression=Key("pk").eq("p"))
        self.assertLess(r["Count"], 30)
        self.assertIn("LastEvaluatedKey", r)

    def test_parallel_scan_covers_every_item_once(self):
        table = self.make_table("scanned", range_type=None)
        with table.batch_writer() as batch:
            for i in range(300):
                batch.put_item(Item={"pk": f"item-{i}", "n": i})
        seen = []
        for segment in range(4):
            kwargs = {"Segment": segment, "TotalSegments": 4, "Limit": 50}
            while True:
                page = table.scan(**kwargs)
                seen += [i["pk"] for i in page["Items"]]
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        self.assertEqual(sorted(seen), sorted(f"item-{i}" for i in range(300)))
        r = table.scan(FilterExpression=Attr("n").lt(10), ProjectionExpression="n")
        self.assertEqual(sorted(i["n"] for i in r["Items"]), list(range(10)))
        e = error(table.scan, Segment=4, TotalSegments=4)
        self.assertIn("Segment: 4 is not less than TotalSegments: 4", e["Error"]["Message"])

    def test_secondary_indexes(self):
        self.make_table("indexed", more_definitions=[{"AttributeName": "status", "AttributeType": "S"},
                                                     {"AttributeName": "total", "AttributeType": "N"}],
                        GlobalSecondaryIndexes=[{"IndexName": "by_status",
                                                 "KeySchema": key_schema("status", "total"),
                                                 "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["note"]}}],
                        LocalSecondaryIndexes=[{"IndexName": "by_total", "KeySchema": key_schema("pk", "total"),
                                                "Projection": {"ProjectionType": "KEYS_ONLY"}}])
        table = self.res.Table("indexed")
        for i in range(10):
            item = {"pk": "cust", "sk": f"o{i}", "total": 100 - i, "note": f"n{i}", "secret": "s"}
            if i % 3:
                item["status"] = "open"
            table.put_item(Item=item)
        r = table.query(IndexName="by_status", KeyConditionExpression=Key("status").eq("open") & Key("total").gt(92))
        self.assertEqual([i["total"] for i in r["Items"]], [93, 95, 96, 98, 99])
        self.assertTrue(all("secret" not in i and "note" in i for i in r["Items"]))
        r = table.query(IndexName="by_total", KeyConditionExpression=Key("pk").eq("cust"), Limit=3)
        self.assertEqual([i["total"] for i in r["Items"]], [91, 92, 93])
        r = table.query(IndexName="by_total", KeyConditionExpression=Key("pk").eq("cust"), Select="ALL_ATTRIBUTES",
                        Limit=1)
        self.assertEqual(r["Items"][0]["secret"], "s")
        table.update_item(Key={"pk": "cust", "sk": "o1"}, UpdateExpression="REMOVE #s",
                          ExpressionAttributeNames={"#s": "status"})
        r = table.query(IndexName="by_status", KeyConditionExpression=Key("status").eq("open"))
        self.assertEqual(r["Count"], 5)
        e = error(table.query, IndexName="by_status", KeyConditionExpression=Key("status").eq("open"),
                  ConsistentRead=True)
        self.assertEqual(e["Error"]["Message"], "Consistent reads are not supported on global secondary indexes")
        # A GSI added later is backfilled.
        self.ddb.update_table(TableName="indexed",
                              AttributeDefinitions=[{"AttributeName": "note", "AttributeType": "S"}],
                              GlobalSecondaryIndexUpdates=[{"Create": {
                                  "IndexName": "by_note", "KeySchema": key_schema("note"),
                                  "Projection": {"ProjectionType": "ALL"}}}])
        harness.wait_for(lambda: self.ddb.describe_table(TableName="indexed")["Table"]["GlobalSecondaryIndexes"][-1]
                         ["IndexStatus"] == "ACTIVE", message="index backfill")
        r = table.query(IndexName="by_note", KeyConditionExpression=Key("note").eq("n4"))
        self.assertEqual([i["sk"] for i in r["Items"]], ["o4"])
        desc = self.ddb.describe_table(TableName="indexed")["Table"]
        self.assertEqual(desc["ItemCount"], 10)

    # -- batches and transactions ----------------------------------------------------------

    def test_batch_operations(self):
        self.make_table("batched")
        self.ddb.batch_write_item(RequestItems={"batched": [
            {"PutRequest": {"Item": {"pk": {"S": f"k{i}"}, "sk": {"S": "s"}}}} for i in range(25)]})
        r = self.ddb.batch_get_item(RequestItems={"batched": {"Keys": [
            {"pk": {"S": f"k{i}"}, "sk": {"S": "s"}} for i in range(30)]}})
        self.assertEqual(len(r["Responses"]["batched"]), 25)
        self.assertEqual(r["UnprocessedKeys"], {})
        e = error(self.ddb.batch_write_item, RequestItems={"batched": [
            {"PutRequest": {"Item": {"pk": {"S": "d"}, "sk": {"S": "s"}}}}] * 2})
        self.assertEqual(e["Error"]["Message"], "Provided list of item keys contains duplicates")
        e = error(self.ddb.batch_get_item, RequestItems={"batched": {"Keys": [
            {"pk": {"S": f"k{i}"}, "sk": {"S": "s"}} for i in range(101)]}})
        self.assertEqual(e["Error"]["Code"], "ValidationException")

    def test_transactions(self):
        self.make_table("accounts", range_type=None)
        acct = lambda name: {"pk": {"S": name}}
        self.ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "accounts", "Item": {"pk": {"S": "alice"}, "bal": {"N": "100"}}}},
            {"Put": {"TableName": "accounts", "Item": {"pk": {"S": "bob"}, "bal": {"N": "0"}}}}])
        transfer = [
            {"Update": {"TableName": "accounts", "Key": acct("alice"), "UpdateExpression": "SET bal = bal - :a",
                        "ConditionExpression": "bal >= :a", "ExpressionAttributeValues": {":a": {"N": "60"}}}},
            {"Update": {"TableName": "accounts", "Key": acct("bob"), "UpdateExpression": "SET bal = bal + :a",
                        "ExpressionAttributeValues": {":a": {"N": "60"}}}}]
        self.ddb.transact_write_items(TransactItems=transfer, ClientRequestToken="t-1")
        self.ddb.transact_write_items(TransactItems=transfer, ClientRequestToken="t-1")  # idempotent replay
        e = error(self.ddb.transact_write_items, TransactItems=transfer)
        self.assertEqual(e["Error"]["Code"], "TransactionCanceledException")
        self.assertEqual([r["Code"] for r in e["CancellationReasons"]], ["ConditionalCheckFailed", "None"])
        got = self.ddb.transact_get_items(TransactItems=[{"Get": {"TableName": "accounts", "Key": acct(n)}}
                                                         for n in ("alice", "bob", "carol")])["Responses"]
        self.assertEqual([r.get("Item", {}).get("bal", {}).get("N") for r in got], ["40", "60", None])
        e = error(self.ddb.transact_write_items, TransactItems=transfer[:1], ClientRequestToken="t-1")
        self.assertEqual(e["Error"]["Code"], "IdempotentParameterMismatchException")
        e = error(self.ddb.transact_write_items, TransactItems=[transfer[0], transfer[0]])
        self.assertIn("multiple operations on one item", e["Error"]["Message"])

    def test_concurrent_conditional_writes_have_one_winner(self):
        table = self.make_table("race", range_type=None)
        clients = [self.d.client("dynamodb") for _ in range(8)]

        def attempt(i):
            try:
                clients[i].put_item(TableName="race", Item={"pk": {"S": "lock"}, "owner": {"N": str(i)}},
                                    ConditionExpression="attribute_not_exists(pk)")
                return True
            except botocore.exceptions.ClientError as e:
                self.assertEqual(e.response["Error"]["Code"], "ConditionalCheckFailedException")
                return False

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            self.assertEqual(sum(pool.map(attempt, range(8))), 1)

        def increment(i):
            for _ in range(10):
                clients[i].update_item(TableName="race", Key={"pk": {"S": "counter"}},
                                       UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": {"N": "1"}})

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(increment, range(8)))
        self.assertEqual(table.get_item(Key={"pk": "counter"})["Item"]["n"], 80)

    # -- streams and TTL -------------------------------------------------------------------

    def read_all(self, arn, iterator_type="TRIM_HORIZON"):
        shard = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        it = self.streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                             ShardIteratorType=iterator_type)["ShardIterator"]
        return self.streams.get_records(ShardIterator=it, Limit=1000)

    def test_streams_record_every_change(self):
        table = self.make_table("streamed", StreamSpecification={"StreamEnabled": True,
                                                                  "StreamViewType": "NEW_AND_OLD_IMAGES"})
        arn = self.ddb.describe_table(TableName="streamed")["Table"]["LatestStreamArn"]
        table.put_item(Item={"pk": "a", "sk": "1", "v": 1})
        table.put_item(Item={"pk": "a", "sk": "1", "v": 1})  # no change: no record
        table.update_item(Key={"pk": "a", "sk": "1"}, UpdateExpression="SET v = :v",
                          ExpressionAttributeValues={":v": 2})
        table.delete_item(Key={"pk": "a", "sk": "1"})
        table.delete_item(Key={"pk": "zzz", "sk": "1"})  # nothing deleted: no record
        records = self.read_all(arn)["Records"]
        self.assertEqual([r["eventName"] for r in records], ["INSERT", "MODIFY", "REMOVE"])
        self.assertEqual(records[1]["dynamodb"]["OldImage"]["v"], {"N": "1"})
        self.assertEqual(records[1]["dynamodb"]["NewImage"]["v"], {"N": "2"})
        self.assertEqual(records[2]["dynamodb"]["Keys"], {"pk": {"S": "a"}, "sk": {"S": "1"}})
        seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
        self.assertEqual(seqs, sorted(seqs))
        streams = self.streams.list_streams(TableName="streamed")["Streams"]
        self.assertEqual([s["StreamArn"] for s in streams], [arn])
        shard = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        after = self.streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                                                SequenceNumber=records[0]["dynamodb"]["SequenceNumber"])
        self.assertEqual(len(self.streams.get_records(ShardIterator=after["ShardIterator"])["Records"]), 2)
        latest = self.read_all(arn, "LATEST")
        self.assertEqual(latest["Records"], [])
        table.put_item(Item={"pk": "b", "sk": "1"})
        more = self.streams.get_records(ShardIterator=latest["NextShardIterator"])["Records"]
        self.assertEqual([r["eventName"] for r in more], ["INSERT"])
        # Turning the stream off closes its shard; a new stream starts with the next enable.
        self.ddb.update_table(TableName="streamed", StreamSpecification={"StreamEnabled": False})
        desc = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]
        self.assertEqual(desc["StreamStatus"], "DISABLED")
        self.assertIn("EndingSequenceNumber", desc["Shards"][0]["SequenceNumberRange"])
        e = error(self.ddb.update_table, TableName="streamed", StreamSpecification={"StreamEnabled": False})
        self.assertEqual(e["Error"]["Code"], "ValidationException")

    def test_keys_only_stream_and_ttl_expiry(self):
        self.make_table("expiring", range_type=None,
                        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
        self.ddb.update_time_to_live(TableName="expiring",
                                     TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"})
        self.assertEqual(self.ddb.describe_time_to_live(TableName="expiring")["TimeToLiveDescription"],
                         {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"})
        e = error(self.ddb.update_time_to_live, TableName="expiring",
                  TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"})
        self.assertEqual(e["Error"]["Message"], "TimeToLive is already enabled")
        now = int(time.time())
        self.ddb.put_item(TableName="expiring", Item={"pk": {"S": "old"}, "ttl": {"N": str(now - 10)}})
        self.ddb.put_item(TableName="expiring", Item={"pk": {"S": "new"}, "ttl": {"N": str(now + 3600)}})
        harness.wait_for(lambda: "Item" not in self.ddb.get_item(TableName="expiring", Key={"pk": {"S": "old"}}),
                         timeout=15, message="the TTL expirer")
        self.assertIn("Item", self.ddb.get_item(TableName="expiring", Key={"pk": {"S": "new"}}))
        arn = self.ddb.describe_table(TableName="expiring")["Table"]["LatestStreamArn"]
        records = self.read_all(arn)["Records"]
        removed = [r for r in records if r["eventName"] == "REMOVE"]
        self.assertEqual(len(removed), 1)
        self.assertEqual(removed[0]["userIdentity"], {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"})
        self.assertNotIn("NewImage", records[0]["dynamodb"])

    # -- the aws CLI -----------------------------------------------------------------------

    def test_aws_cli(self):
        self.d.aws("dynamodb", "create-table", "--table-name", "cli-table",
                   "--attribute-definitions", "AttributeName=id,AttributeType=S",
                   "--key-schema", "AttributeName=id,KeyType=HASH", "--billing-mode", "PAY_PER_REQUEST")
        self.d.aws("dynamodb", "put-item", "--table-name", "cli-table", "--item", '{"id": {"S": "1"}, "n": {"N": "7"}}')
        got = self.d.aws("dynamodb", "get-item", "--table-name", "cli-table", "--key", '{"id": {"S": "1"}}')
        self.assertEqual(got["Item"]["n"], {"N": "7"})
        scanned = self.d.aws("dynamodb", "scan", "--table-name", "cli-table")
        self.assertEqual(scanned["Count"], 1)
        proc = self.d.aws("dynamodb", "describe-table", "--table-name", "nope", check=False)
        self.assertIn("ResourceNotFoundException", proc.stderr)


class Durability(unittest.TestCase):
    def test_data_survives_restart_and_kill(self):
        d = Daemon().start()
        try:
            ddb = d.client("dynamodb")
            ddb.create_table(TableName="durable", KeySchema=key_schema("pk"),
                             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                             BillingMode="PAY_PER_REQUEST",
                             StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
            for i in range(50):
                ddb.put_item(TableName="durable", Item={"pk": {"S": f"k{i}"}, "v": {"N": str(i)}})
            self.assertEqual(d.stop(), 0)
            d.start()
            ddb = d.client("dynamodb")
            self.assertEqual(ddb.scan(TableName="durable", Select="COUNT")["Count"], 50)
            for i in range(50, 80):
                ddb.put_item(TableName="durable", Item={"pk": {"S": f"k{i}"}, "v": {"N": str(i)}})
            d.kill()
            d.start()
            ddb = d.client("dynamodb")
            self.assertEqual(ddb.scan(TableName="durable", Select="COUNT")["Count"], 80)
            self.assertEqual(ddb.describe_table(TableName="durable")["Table"]["ItemCount"], 80)
            self.assertEqual(ddb.get_item(TableName="durable", Key={"pk": {"S": "k79"}})["Item"]["v"], {"N": "79"})
            streams = d.client("dynamodbstreams")
            arn = ddb.describe_table(TableName="durable")["Table"]["LatestStreamArn"]
            shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
            it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                            ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            self.assertEqual(len(streams.get_records(ShardIterator=it)["Records"]), 80)
            ddb.put_item(TableName="durable", Item={"pk": {"S": "after"}})
            records = streams.get_records(ShardIterator=it)["Records"]
            seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
            self.assertEqual(seqs, sorted(seqs))
            self.assertEqual(len(seqs), 81)
        finally:
            d.cleanup()

    def test_writes_answered_to_many_connections_at_once_survive_kill(self):
        # Sixteen clients writing at once share the io threads: an io thread writes the log
        # records of the requests it has in hand together, before their answers. Every write a
        # client saw answered must be there after a kill -9.
        d = Daemon().start()
        try:
            ddb = d.client("dynamodb")
            ddb.create_table(TableName="busy", KeySchema=key_schema("pk"),
                             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                             BillingMode="PAY_PER_REQUEST")

            # A connection each, all kept open until the kill: every io thread has company, so that
            # each answer, the last ones included, is queued behind its thread's other requests.
            clients = [d.client("dynamodb") for _ in range(16)]

            def writer(w):
                client = clients[w]
                for i in range(40):
                    client.put_item(TableName="busy", Item={"pk": {"S": f"w{w}-{i}"}, "v": {"N": str(i)}})
                client.update_item(TableName="busy", Key={"pk": {"S": f"w{w}-0"}},
                                   UpdateExpression="SET done = :t", ExpressionAttributeValues={":t": {"BOOL": True}})

            with concurrent.futures.ThreadPoolExecutor(16) as pool:
                list(pool.map(writer, range(16)))
            d.kill()
            d.start()
            ddb = d.client("dynamodb")
            self.assertEqual(ddb.scan(TableName="busy", Select="COUNT")["Count"], 16 * 40)
            for w in range(16):
                item = ddb.get_item(TableName="busy", Key={"pk": {"S": f"w{w}-0"}})["Item"]
                self.assertEqual(item.get("done"), {"BOOL": True}, f"writer {w}")
                self.assertEqual(ddb.get_item(TableName="busy", Key={"pk": {"S": f"w{w}-39"}})["Item"]["v"],
                                 {"N": "39"})
        finally:
            d.cleanup()


if __name__ == "__main__":
    harness.main()
