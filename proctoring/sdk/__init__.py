"""The browser SDK, served by the web: autoproctor.js (with the protocol definition written in),
its type declarations, and a demo exam page that integrates it as the SDK's lifecycle page does."""
