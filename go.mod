module github.com/phpbridge/phpbridge

go 1.26.8

require (
	github.com/chromedp/chromedp v0.22.1
	github.com/fasthttp/websocket v1.5.12
	github.com/valyala/fasthttp v1.77.0
	github.com/yookoala/gofast v0.8.0
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/chromedp/cdproto v0.159.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/molecule-man/go-brrr v1.3.0 // indirect
	github.com/savsgio/gotils v0.0.0-20240704082632-aef3928b8a38 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	golang.org/x/net v0.61.0 // indirect
	golang.org/x/tools v0.30.0 // indirect
)

replace github.com/molecule-man/go-brrr => github.com/molecule-man/go-brrr v1.0.1
