module github.com/streambot/streambot

go 1.26.0

require (
	github.com/dghubble/oauth1 v0.7.3
	github.com/go-telegram-bot-api/telegram-bot-api/v5 v5.5.1
	go.yaml.in/yaml/v3 v3.0.4
	golang.org/x/time v0.16.0
)
