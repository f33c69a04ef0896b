"""Enterprises: work resumption (复工复产), whitelist and freight passes, problem tickets."""
