/* header /* nested; */ still comment */
SELECT E'it\'s; escaped\\', e'\n', U&'d\0061t;', B'1010', X'1F', N'nat;';
SELECT 'plain \ backslash'; -- don't split here; it's a comment
SELECT xe'\'; SELECT U&"d\0061;" FROM t;
SELECT a[1..10], .5, 3.14, 1e10, 1.5E-3 FROM "we""ird";
SELECT 1 -- done