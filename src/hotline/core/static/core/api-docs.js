/* /api/docs (django-ninja's Swagger UI), loaded after swagger-ui-bundle.js and
   before ninja's swagger-ui-init.js.

   1. Every path (/api/orders/{number}/events) is drawn inside <code>: it is a
      code, not words to translate.
   2. On a Chinese page (<html lang="zh-hans">) Swagger UI's own English texts
      (buttons, headings, table heads) are swapped for Chinese as they are
      drawn: Swagger UI has no translations of its own. The API's texts (the
      summaries, descriptions and tags of /api/openapi.json) come translated
      from the server. */
(() => {
  "use strict";

  const ZH = {
    "Authorize": "认证", "Authorized": "已认证", "Available authorizations": "可用的认证方式",
    "Logout": "注销", "Close": "关闭", "Value:": "值：", "Name:": "名称：", "In:": "位置：",
    "Username:": "用户名：", "Password:": "密码：", "Scopes:": "权限范围：", "Headers:": "响应头：",
    "Enum:": "可选值：", "Deprecated:": "已弃用：",
    "Servers": "服务器", "Schemas": "数据结构", "Expand all": "全部展开", "Collapse all": "全部收起",
    "Filter by tag": "按标签筛选", "Loading...": "加载中……", "Failed to load API definition.": "无法加载 API 定义。",
    "Parameters": "参数", "No parameters": "无参数", "Try it out": "试一试", "Cancel": "取消",
    "Execute": "执行", "Clear": "清除", "Reset": "重置", "Name": "名称", "Description": "说明",
    "Type": "类型", "Code": "状态码", "Links": "链接", "No links": "无链接", "Details": "详情",
    "Request body": "请求体", "required": "必填", "Responses": "响应", "Media type": "媒体类型",
    "Controls": "控制", "header.": "请求头。", "Example Value": "示例值", "Edit Value": "编辑值",
    "Schema": "结构", "Example": "示例", "Examples": "示例", "Example Description": "示例说明",
    "Send empty value": "发送空值", "Server response": "服务器响应", "Response body": "响应体",
    "Response headers": "响应头", "Headers": "响应头", "Request URL": "请求 URL", "Undocumented": "未记录",
    "Download": "下载", "Copy to clipboard": "复制到剪贴板", "Errors": "错误", "Hide": "隐藏",
    "Show": "显示", "Callbacks": "回调", "Parameter content type": "参数内容类型",
    "Response content type": "响应内容类型", "Default value": "默认值", "Available values": "可选值",
    "Add item": "添加一项", "deprecated": "已弃用",
    // Read by screen readers (aria-label).
    "Apply credentials": "提交凭据", "Remove authorization": "取消认证", "Collapse operation": "收起操作",
    "Expand operation": "展开操作", "authorization button locked": "认证（已认证）",
    "authorization button unlocked": "认证（未认证）", "Media Type": "媒体类型", "Request content type": "请求内容类型",
  };
  // Where a parameter goes, drawn as "(", "query", ")" under its name.
  const PLACES = {query: "查询参数", path: "路径参数", header: "请求头", cookie: "Cookie"};
  const ATTRIBUTES = ["placeholder", "title", "aria-label"];

  const CodePaths = () => ({
    wrapComponents: {
      OperationSummaryPath: (Original, system) => (props) => system.React.createElement(
        "code", {className: "hotline-path", style: {display: "contents"}}, system.React.createElement(Original, props)),
    },
  });
  const bundle = window.SwaggerUIBundle;
  window.SwaggerUIBundle = Object.assign(
    (config) => bundle({...config, plugins: [...(config.plugins || []), CodePaths]}), bundle);

  if (!/^zh/i.test(document.documentElement.lang)) return;

  const swapText = (node) => {
    const text = node.nodeValue.trim();
    const words = node.parentElement && node.parentElement.closest(".parameter__in") ? PLACES : ZH;
    if (Object.hasOwn(words, text)) node.nodeValue = node.nodeValue.replace(text, words[text]);
  };
  const swapAttributes = (element) => {
    for (const name of ATTRIBUTES) {
      const value = element.getAttribute(name);
      if (value && Object.hasOwn(ZH, value.trim())) element.setAttribute(name, ZH[value.trim()]);
    }
  };
  const swapTree = (root) => {
    if (root.nodeType === Node.TEXT_NODE) return swapText(root);
    if (root.nodeType !== Node.ELEMENT_NODE || root.closest("pre, code, textarea")) return;
    swapAttributes(root);
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT, {
      // Examples, bodies and paths are shown as they are.
      acceptNode: (n) => (n.nodeType === Node.ELEMENT_NODE && n.matches("pre, code, textarea")
        ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
    });
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (n.nodeType === Node.TEXT_NODE) swapText(n); else swapAttributes(n);
    }
  };
  // React redraws as the reader opens operations and dialogs: swap each change
  // (a swapped text is Chinese, so swapping it again changes nothing).
  new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === "characterData") {
        const parent = record.target.parentElement;
        if (parent && !parent.closest("pre, code, textarea")) swapText(record.target);
      } else if (record.type === "attributes") {
        swapAttributes(record.target);
      } else {
        record.addedNodes.forEach((n) => {
          const parent = n.parentElement;
          if (!parent || !parent.closest("pre, code, textarea")) swapTree(n);
        });
      }
    }
  }).observe(document.body, {childList: true, subtree: true, characterData: true, attributes: true,
                            attributeFilter: ATTRIBUTES});
})();
