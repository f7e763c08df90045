module github.com/streambot/streambot

go 1.26.0

require (
	github.com/dghubble/go-twitter v0.0.0-20221104224141-912508c3888b // indirect
	github.com/dghubble/oauth1 v0.7.3 // indirect
	github.com/go-telegram-bot-api/telegram-bot-api/v5 v5.5.1 // indirect
	go.yaml.in/yaml/v3 v3.0.4 // indirect
	golang.org/x/time v0.16.0 // indirect
)
