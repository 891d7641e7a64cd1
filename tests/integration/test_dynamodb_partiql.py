"""DynamoDB PartiQL against the real daemon with boto3 (execute_statement, batch_execute_statement,
execute_transaction) and the aws CLI (execute-statement): statements of every kind,
parameters, indexes, paging, streams fed by PartiQL writes, and the errors with their codes."""
import json
import unittest

import harness
from harness import Daemon
from test_dynamodb import error


class PartiQL(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(in_memory=True).start()
        cls.ddb = cls.d.client("dynamodb")
        cls.streams = cls.d.client("dynamodbstreams")
        cls.ddb.create_table(
            TableName="Music", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "Artist", "AttributeType": "S"},
                                  {"AttributeName": "SongTitle", "AttributeType": "S"},
                                  {"AttributeName": "Genre", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "Artist", "KeyType": "HASH"},
                       {"AttributeName": "SongTitle", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[{"IndexName": "ByGenre",
                                     "KeySchema": [{"AttributeName": "Genre", "KeyType": "HASH"}],
                                     "Projection": {"ProjectionType": "ALL"}}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        cls.ddb.create_table(
            TableName="Counters", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
        cls.ddb.create_table(
            TableName="Pages", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def run_sql(self, statement, *params, **kw):
        if params:
            kw["Parameters"] = list(params)
        return self.ddb.execute_statement(Statement=statement, **kw)

    def test_insert_select_update_delete(self):
        self.run_sql("INSERT INTO \"Music\" VALUE {'Artist': 'Acme', 'SongTitle': 'PartiQL Rocks', 'Genre': 'rock',"
                     " 'Released': 2020, 'Tags': <<'a', 'b'>>, 'Info': {'Label': 'X', 'Charts': [3, 1]}}")
        self.run_sql("INSERT INTO Music VALUE {'Artist': ?, 'SongTitle': ?, 'Released': ?}",
                     {"S": "Acme"}, {"S": "Second"}, {"N": "2021"})
        got = self.ddb.get_item(TableName="Music", Key={"Artist": {"S": "Acme"}, "SongTitle": {"S": "PartiQL Rocks"}})
        self.assertEqual(got["Item"]["Info"]["M"]["Charts"]["L"][1], {"N": "1"})
        self.assertEqual(sorted(got["Item"]["Tags"]["SS"]), ["a", "b"])

        e = error(self.run_sql, "INSERT INTO Music VALUE {'Artist': 'Acme', 'SongTitle': 'Second'}")
        self.assertEqual(e["Error"]["Code"], "DuplicateItemException")
        self.assertEqual(e["Error"]["Message"], "Duplicate primary key exists in table")
        self.assertEqual(e["ResponseMetadata"]["HTTPStatusCode"], 400)

        items = self.run_sql("SELECT SongTitle, Info.Label, Info.Charts[0] FROM Music WHERE Artist = ? "
                             "ORDER BY SongTitle DESC", {"S": "Acme"})["Items"]
        self.assertEqual(items, [{"SongTitle": {"S": "Second"}},
                                 {"SongTitle": {"S": "PartiQL Rocks"}, "Label": {"S": "X"},
                                  "Charts[0]": {"N": "3"}}])
        items = self.run_sql("SELECT * FROM \"Music\".\"ByGenre\" WHERE Genre = 'rock'")["Items"]
        self.assertEqual([i["SongTitle"]["S"] for i in items], ["PartiQL Rocks"])
        items = self.run_sql("SELECT SongTitle FROM Music WHERE begins_with(SongTitle, 'Part') AND Released < 2021 "
                             "AND contains(Tags, 'b') AND Info.Label IS NOT MISSING")["Items"]
        self.assertEqual(items, [{"SongTitle": {"S": "PartiQL Rocks"}}])

        out = self.run_sql("UPDATE Music SET Released = Released + 1 SET Tags = set_add(Tags, <<'c'>>) REMOVE Info.Charts[1] "
                           "WHERE Artist = 'Acme' AND SongTitle = 'PartiQL Rocks' RETURNING ALL NEW *")
        item = out["Items"][0]
        self.assertEqual(item["Released"], {"N": "2021"})
        self.assertEqual(sorted(item["Tags"]["SS"]), ["a", "b", "c"])
        self.assertEqual(item["Info"]["M"]["Charts"]["L"], [{"N": "3"}])

        e = error(self.run_sql, "UPDATE Music SET Released = 1 WHERE Artist = 'Acme'")
        self.assertEqual(e["Error"]["Code"], "ValidationException")
        self.assertEqual(e["Error"]["Message"],
                         "Where clause does not contain a mandatory equality on all key attributes")
        e = error(self.run_sql, "UPDATE Music SET Released = 1 WHERE Artist = 'Nobody' AND SongTitle = 'x'")
        self.assertEqual(e["Error"]["Code"], "ConditionalCheckFailedException")
        e = error(self.run_sql, "DELETE FROM Music WHERE Artist = 'Acme' AND SongTitle = 'Second' AND Released = 1999",
                  ReturnValuesOnConditionCheckFailure="ALL_OLD")
        self.assertEqual(e["Error"]["Code"], "ConditionalCheckFailedException")
        self.assertEqual(e["Item"]["Released"], {"N": "2021"})

        out = self.run_sql("DELETE FROM Music WHERE Artist = 'Acme' AND SongTitle = 'Second' RETURNING ALL OLD *")
        self.assertEqual(out["Items"][0]["Released"], {"N": "2021"})
        self.assertEqual(self.run_sql("SELECT * FROM Music WHERE Artist = 'Acme' AND SongTitle = 'Second'")["Items"],
                         [])

        # The writes reached the table's stream like any other.
        arn = self.ddb.describe_table(TableName="Music")["Table"]["LatestStreamArn"]
        shard = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        it = self.streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                             ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        events = [r["eventName"] for r in self.streams.get_records(ShardIterator=it)["Records"]]
        self.assertEqual(events, ["INSERT", "INSERT", "MODIFY", "REMOVE"])

    def test_paging_and_limit(self):
        for i in range(12):
            self.run_sql("INSERT INTO Pages VALUE {'id': ?, 'n': ?}", {"N": str(i)}, {"N": str(i % 3)})
        first = self.run_sql("SELECT * FROM Pages", Limit=5, ReturnConsumedCapacity="TOTAL")
        self.assertEqual(len(first["Items"]), 5)
        self.assertIn("NextToken", first)
        self.assertEqual(first["ConsumedCapacity"]["TableName"], "Pages")
        seen = [i["id"]["N"] for i in first["Items"]]
        token = first["NextToken"]
        while token:
            page = self.run_sql("SELECT * FROM Pages", Limit=5, NextToken=token)
            seen += [i["id"]["N"] for i in page["Items"]]
            token = page.get("NextToken")
        self.assertEqual(sorted(seen, key=int), [str(i) for i in range(12)])

        # Limit counts items read, not items matched.
        page = self.run_sql("SELECT id FROM Pages WHERE n = 0", Limit=6)
        self.assertLessEqual(len(page["Items"]), 6)
        self.assertIn("NextToken", page)
        ids, token = [], None
        while True:
            page = self.run_sql("SELECT id FROM Pages WHERE n = 0", Limit=4, **({"NextToken": token} if token else {}))
            ids += [int(i["id"]["N"]) for i in page["Items"]]
            token = page.get("NextToken")
            if not token:
                break
        self.assertEqual(sorted(ids), [0, 3, 6, 9])

        items = self.run_sql("SELECT id FROM Pages WHERE id IN [7, 2, 5] ORDER BY id DESC")["Items"]
        self.assertEqual([i["id"]["N"] for i in items], ["7", "5", "2"])

        e = error(self.run_sql, "SELECT * FROM Music WHERE Artist = 'x'", NextToken=first["NextToken"])
        self.assertEqual(e["Error"]["Message"], "The provided starting key is invalid")
        e = error(self.run_sql, "SELECT * FROM Pages", NextToken="garbage")
        self.assertEqual(e["Error"]["Message"], "Invalid NextToken")

    def test_batch_execute_statement(self):
        out = self.ddb.batch_execute_statement(Statements=[
            {"Statement": "INSERT INTO Counters VALUE {'id': 100, 'n': 1}"},
            {"Statement": "INSERT INTO Counters VALUE {'id': 100, 'n': 2}"},
            {"Statement": "UPDATE Counters SET n = 5 WHERE id = ?", "Parameters": [{"N": "404"}]},
            {"Statement": "SLECT * FROM Counters"},
            {"Statement": "DELETE FROM Nope WHERE id = 1"},
        ], ReturnConsumedCapacity="TOTAL")
        r = out["Responses"]
        self.assertEqual(r[0], {"TableName": "Counters"})
        self.assertEqual(r[1]["Error"]["Code"], "DuplicateItem")
        self.assertEqual(r[2]["Error"]["Code"], "ConditionalCheckFailed")
        self.assertEqual(r[3]["Error"], {"Code": "ValidationError", "Message":
                                         "Statement wasn't well formed, can't be processed: Expected data manipulation"})
        self.assertEqual(r[4]["Error"]["Code"], "ResourceNotFound")
        self.assertEqual(out["ConsumedCapacity"][0]["TableName"], "Counters")

        out = self.ddb.batch_execute_statement(Statements=[
            {"Statement": "SELECT n FROM Counters WHERE id = 100", "ConsistentRead": True},
            {"Statement": "SELECT * FROM Counters WHERE id = 101"},
            {"Statement": "SELECT * FROM Counters WHERE n = 1"},
        ])
        r = out["Responses"]
        self.assertEqual(r[0], {"TableName": "Counters", "Item": {"n": {"N": "1"}}})
        self.assertEqual(r[1], {"TableName": "Counters"})
        self.assertEqual(r[2]["Error"]["Code"], "ValidationError")

        e = error(self.ddb.batch_execute_statement,
                  Statements=[{"Statement": "SELECT * FROM Counters WHERE id = 1"}] * 26)
        self.assertEqual(e["Error"]["Code"], "ValidationException")

    def test_execute_transaction(self):
        self.run_sql("INSERT INTO Counters VALUE {'id': 200, 'n': 0}")
        self.run_sql("INSERT INTO Counters VALUE {'id': 203, 'n': 0}")
        self.ddb.execute_transaction(TransactStatements=[
            {"Statement": "INSERT INTO Counters VALUE {'id': 201, 'n': 0}"},
            {"Statement": "UPDATE Counters SET n = n + 1 WHERE id = 200"},
            {"Statement": "EXISTS(SELECT * FROM Counters WHERE id = 203 AND n = 0)"},
        ])
        e = error(self.ddb.execute_transaction, TransactStatements=[
            {"Statement": "UPDATE Counters SET n = n + 1 WHERE id = 200"},
            {"Statement": "EXISTS(SELECT * FROM Counters WHERE id = 203 AND n = 5)"},
        ])
        self.assertEqual([r["Code"] for r in e["CancellationReasons"]], ["None", "ConditionalCheckFailed"])
        e = error(self.ddb.execute_transaction, TransactStatements=[
            {"Statement": "INSERT INTO Counters VALUE {'id': 202, 'n': 0}"},
            {"Statement": "INSERT INTO Counters VALUE {'id': 201, 'n': 0}"},
            {"Statement": "UPDATE Counters SET n = 9 WHERE id = 200 AND n = 0",
             "ReturnValuesOnConditionCheckFailure": "ALL_OLD"},
        ])
        self.assertEqual(e["Error"]["Code"], "TransactionCanceledException")
        reasons = e["CancellationReasons"]
        self.assertEqual([r["Code"] for r in reasons], ["None", "DuplicateItem", "ConditionalCheckFailed"])
        self.assertEqual(reasons[2]["Item"]["n"], {"N": "1"})
        self.assertEqual(self.run_sql("SELECT * FROM Counters WHERE id = 202")["Items"], [])

        reads = self.ddb.execute_transaction(TransactStatements=[
            {"Statement": "SELECT n FROM Counters WHERE id = ?", "Parameters": [{"N": "200"}]},
            {"Statement": "SELECT * FROM Counters WHERE id = 999"},
        ])["Responses"]
        self.assertEqual(reads, [{"Item": {"n": {"N": "1"}}}, {}])

        e = error(self.ddb.execute_transaction, TransactStatements=[
            {"Statement": "SELECT * FROM Counters WHERE id = 200"},
            {"Statement": "DELETE FROM Counters WHERE id = 200"}])
        self.assertEqual(e["Error"]["Message"],
                         "ExecuteTransaction API does not support both read and write operations in the same request.")
        e = error(self.ddb.execute_transaction, TransactStatements=[
            {"Statement": "UPDATE Counters SET n = 1 WHERE id = 200 RETURNING ALL NEW *"}])
        self.assertEqual(e["Error"]["Message"], "Validation failed in TransactStatements[0]: RETURNING clause is not "
                                                "supported in ExecuteTransaction.")
        e = error(self.ddb.execute_transaction, TransactStatements=[
            {"Statement": "UPDATE Counters SET n = n + 1 WHERE id = 200"}] * 101)
        self.assertEqual(e["Error"]["Code"], "ValidationException")

        # The same ClientRequestToken runs the statements once.
        stmts = [{"Statement": "UPDATE Counters SET n = n + 10 WHERE id = 201"}]
        self.ddb.execute_transaction(TransactStatements=stmts, ClientRequestToken="once")
        self.ddb.execute_transaction(TransactStatements=stmts, ClientRequestToken="once")
        self.assertEqual(self.run_sql("SELECT n FROM Counters WHERE id = 201")["Items"], [{"n": {"N": "10"}}])
        e = error(self.ddb.execute_transaction, ClientRequestToken="once",
                  TransactStatements=[{"Statement": "UPDATE Counters SET n = n + 1 WHERE id = 201"}])
        self.assertEqual(e["Error"]["Code"], "IdempotentParameterMismatchException")

    def test_errors(self):
        cases = [
            ("SELECT * FROM Counters WHERE", "ValidationException",
             "Statement wasn't well formed, can't be processed: Unexpected term"),
            ("SELECT * FROM Counters WHERE id = 1 foo", "ValidationException",
             "Statement wasn't well formed, can't be processed: Unexpected token after expression"),
            ("SELECT * FROM Counters c", "ValidationException", "Aliasing is not supported"),
            ("SELECT * FROM NoSuchTable", "ResourceNotFoundException", "Requested resource not found"),
            ("SELECT * FROM Counters WHERE id = ?", "ValidationException",
             "Number of parameters in request and statement don't match."),
            ("DELETE FROM Counters WHERE id = 1 RETURNING ALL NEW *", "ValidationException",
             "Invalid returning clause: RETURNING ALL NEW *. Only RETURNING ALL OLD * is allowed in DELETE statements."),
            ("EXISTS(SELECT * FROM Counters WHERE id = 1 AND n = 1)", "ValidationException",
             "EXISTS can only be used in ExecuteTransaction write requests."),
            ("INSERT INTO Counters VALUE {'id': 1, 's': <<>>}", "ValidationException", "Empty bags are not supported"),
        ]
        for statement, code, message in cases:
            with self.subTest(statement=statement):
                e = error(self.run_sql, statement)
                self.assertEqual((e["Error"]["Code"], e["Error"]["Message"]), (code, message))

    def test_aws_cli(self):
        self.d.aws("dynamodb", "execute-statement", "--statement",
                   "INSERT INTO Counters VALUE {'id': 300, 'label': 'cli'}")
        out = self.d.aws("dynamodb", "execute-statement", "--statement", "SELECT label FROM Counters WHERE id = ?",
                         "--parameters", json.dumps([{"N": "300"}]))
        self.assertEqual(out, {"Items": [{"label": {"S": "cli"}}]})
        proc = self.d.aws("dynamodb", "execute-statement", "--statement",
                          "INSERT INTO Counters VALUE {'id': 300}", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("DuplicateItemException", proc.stderr)


if __name__ == "__main__":
    harness.main()
