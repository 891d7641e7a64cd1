// Drives SQS and SNS with the AWS SDK for JavaScript v3 against the endpoint in argv[2] and
// prints what it saw as one JSON line (the Python test asserts on it).
import { SQSClient, CreateQueueCommand, SendMessageCommand, SendMessageBatchCommand, ReceiveMessageCommand,
         DeleteMessageBatchCommand, GetQueueAttributesCommand, GetQueueUrlCommand } from "@aws-sdk/client-sqs";
import { SNSClient, CreateTopicCommand, SubscribeCommand, PublishCommand } from "@aws-sdk/client-sns";

const endpoint = process.argv[2];
const common = { endpoint, region: "us-east-1", credentials: { accessKeyId: "AKID", secretAccessKey: "s" },
                 maxAttempts: 1 };
const sqs = new SQSClient(common);
const sns = new SNSClient(common);
const out = {};

const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "js-1" }));
await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "from js", MessageAttributes: {
  s: { DataType: "String", StringValue: "v" }, n: { DataType: "Number", StringValue: "7" },
  b: { DataType: "Binary", BinaryValue: new Uint8Array([1, 2, 3]) } } }));
const batch = await sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: [
  { Id: "a", MessageBody: "batch a" }, { Id: "b", MessageBody: "batch b" }] }));
out.batch = batch.Successful.length;
const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10,
  MessageAttributeNames: ["All"], MessageSystemAttributeNames: ["All"] }));
out.bodies = got.Messages.map((m) => m.Body).sort();
out.binary = Array.from(got.Messages.find((m) => m.Body === "from js").MessageAttributes.b.BinaryValue);
const del = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl,
  Entries: got.Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
out.deleted = del.Successful.length;
const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }))).Attributes.QueueArn;
const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: "js-topic" }));
await sns.send(new SubscribeCommand({ TopicArn, Protocol: "sqs", Endpoint: arn, Attributes: { RawMessageDelivery: "true" } }));
await sns.send(new PublishCommand({ TopicArn, Message: "via sns", MessageAttributes: { k: { DataType: "String", StringValue: "x" } } }));
const fanned = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5, MessageAttributeNames: ["All"] }));
out.fanned = fanned.Messages[0].Body;
out.fannedAttr = fanned.Messages[0].MessageAttributes.k.StringValue;
try {
  await sqs.send(new GetQueueUrlCommand({ QueueName: "missing" }));
} catch (e) {
  out.error = e.name;
}
console.log(JSON.stringify(out));
