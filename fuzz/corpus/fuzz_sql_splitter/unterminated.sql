SELECT 1;
SELECT $fn$ never closed;
/* and 'more'