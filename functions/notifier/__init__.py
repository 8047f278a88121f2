"""Notifications for Amazon Bedrock batch inference jobs: the code of every Lambda function."""
