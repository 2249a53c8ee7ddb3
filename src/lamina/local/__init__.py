"""The local Lambda: execution environments, the Runtime/Extensions/Telemetry APIs they talk
to, and the Invoke API that boto3 and the AWS CLI call (../shared/spec/emulator.md)."""
