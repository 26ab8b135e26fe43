-- A configuration block of docs/neovim.md, run as written, then its request block.
-- Env: RTK_HARNESS, RTK_OUT, RTK_ROOT, RTK_DOC_START (Lua file: the block that sets up the client),
-- RTK_DOC_REQUEST (Lua file: the block that asks for a plan). The `rtk-lsp` found on PATH is the
-- server under test. Records what the request block prints.
local h = dofile(assert(os.getenv('RTK_HARNESS')))
local root = assert(os.getenv('RTK_ROOT'))

h.run(function(results, log)
  local printed = {}
  _G.print = function(...)
    local parts = {}
    for i = 1, select('#', ...) do
      parts[i] = tostring(select(i, ...))
    end
    table.insert(printed, table.concat(parts, ' '))
  end
  vim.cmd('filetype on') -- -u NONE leaves it off; a user's config has it on
  dofile(assert(os.getenv('RTK_DOC_START')))
  vim.cmd('edit ' .. vim.fn.fnameescape(root .. '/billing/invoice.py'))
  local client = nil
  h.wait(60000, function()
    client = vim.lsp.get_clients({ name = 'rtk' })[1]
    return client ~= nil
  end, 'an initialized rtk client from the docs configuration')
  results.root_dir = client.config.root_dir
  table.insert(log, 'initialized')
  dofile(assert(os.getenv('RTK_DOC_REQUEST')))
  h.wait(60000, function()
    return #printed > 0
  end, 'the docs request printing a result')
  results.printed = printed
end)
