"""Small helpers shared across chainrule's packages; `chainrule.utils.progress` is the progress
bar used by dataset downloads and by `chainrule.train.fit`."""
