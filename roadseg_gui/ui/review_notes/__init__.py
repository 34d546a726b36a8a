"""Review of accepted tiles in the app: the queue filters, Approve and Return, notes on the tile."""
