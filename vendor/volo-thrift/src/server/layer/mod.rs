pub mod biz_error;
