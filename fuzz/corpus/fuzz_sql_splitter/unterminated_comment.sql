CREATE TABLE t (id int);
/* /* nested */ open
